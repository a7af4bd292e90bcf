// A helper program for the misuse tests: it configures the interrupt signal
// in a fresh process, where nothing has chosen it yet, and reports the
// outcome. The signal is chosen once per process, so each case needs its
// own process.
//
//   signal_probe set N          set_interrupt_signal(N), then create a WaitState
//   signal_probe occupy-set N   install a handler on N, then the same
//   signal_probe env            create a WaitState (INTR_SIGNAL chooses)
//   signal_probe occupy-env N   install a handler on N, then create a WaitState
//   signal_probe occupy-all     install handlers on every real-time signal, then the same
//
// Prints "signal N" on stdout and exits 0 when a WaitState was created with
// signal N. Prints the SignalError message on stderr and exits 3 when the
// library rejected the configuration. Exits 2 on a usage error.
#include <intr/intr.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

extern "C" void occupied_handler(int) {}

void occupy(int signal_number) {
  struct sigaction action {};
  action.sa_handler = occupied_handler;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal_number, &action, nullptr) != 0) {
    std::fprintf(stderr, "signal_probe: sigaction(%d) failed: %s\n", signal_number, std::strerror(errno));
    std::exit(2);
  }
}

int usage() {
  std::fprintf(stderr, "usage: signal_probe set N | occupy-set N | env | occupy-env N | occupy-all\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const char* mode = argv[1];
  int number = argc > 2 ? std::atoi(argv[2]) : 0;
  try {
    if (std::strcmp(mode, "set") == 0 && argc == 3) {
      intr::linux_signal::set_interrupt_signal(number);
    } else if (std::strcmp(mode, "occupy-set") == 0 && argc == 3) {
      occupy(number);
      intr::linux_signal::set_interrupt_signal(number);
    } else if (std::strcmp(mode, "occupy-env") == 0 && argc == 3) {
      occupy(number);
    } else if (std::strcmp(mode, "occupy-all") == 0 && argc == 2) {
      for (int signal_number = SIGRTMIN; signal_number <= SIGRTMAX; ++signal_number) occupy(signal_number);
    } else if (std::strcmp(mode, "env") != 0 || argc != 2) {
      return usage();
    }
    intr::WaitState<> state;
    std::printf("signal %d\n", intr::linux_signal::interrupt_signal());
    return 0;
  } catch (const intr::SignalError& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 3;
  }
}
