#include "usdt_binaries.hpp"

#include "trace_error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <gelf.h>
#include <libelf.h>
#include <set>
#include <sstream>
#include <string_view>
#include <unistd.h>

namespace intr::trace {
namespace {

constexpr std::string_view note_owner = "stapsdt";
constexpr unsigned note_type = 3;  // NT_STAPSDT of <sys/sdt.h>
constexpr std::string_view provider = "intr";

// True when one note of a .note.stapsdt section names the intr provider.
// The description holds three addresses (pc, base, semaphore) and then the
// provider, probe name and argument strings, each NUL-terminated.
bool section_has_provider(Elf* elf, Elf_Scn* section) {
  Elf_Data* data = elf_getdata(section, nullptr);
  if (data == nullptr || data->d_buf == nullptr) return false;
  std::size_t address_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
  GElf_Nhdr header;
  std::size_t name_offset = 0;
  std::size_t description_offset = 0;
  std::size_t offset = 0;
  const char* bytes = static_cast<const char*>(data->d_buf);
  while ((offset = gelf_getnote(data, offset, &header, &name_offset, &description_offset)) > 0) {
    if (header.n_type != note_type || header.n_namesz != note_owner.size() + 1) continue;
    if (std::string_view(bytes + name_offset, note_owner.size()) != note_owner) continue;
    std::size_t strings = 3 * address_size;
    if (header.n_descsz <= strings) continue;
    std::string_view description(bytes + description_offset + strings, header.n_descsz - strings);
    std::string_view name = description.substr(0, description.find('\0'));
    if (name == provider) return true;
  }
  return false;
}

}  // namespace

bool has_intr_probes(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return false;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  bool found = false;
  if (elf != nullptr && elf_kind(elf) == ELF_K_ELF) {
    std::size_t names_index = 0;
    if (elf_getshdrstrndx(elf, &names_index) == 0) {
      for (Elf_Scn* section = elf_nextscn(elf, nullptr); section != nullptr && !found;
           section = elf_nextscn(elf, section)) {
        GElf_Shdr header;
        if (gelf_getshdr(section, &header) == nullptr || header.sh_type != SHT_NOTE) continue;
        const char* name = elf_strptr(elf, names_index, header.sh_name);
        if (name != nullptr && std::strcmp(name, ".note.stapsdt") == 0) found = section_has_provider(elf, section);
      }
    }
  }
  if (elf != nullptr) elf_end(elf);
  close(fd);
  return found;
}

std::vector<std::string> find_intr_binaries(pid_t pid) {
  std::string maps_path = "/proc/" + std::to_string(pid) + "/maps";
  int fd = open(maps_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT) throw TraceError("process " + std::to_string(pid) + " does not exist; pass the PID of a running process", 2);
    throw TraceError("cannot read " + maps_path + " (" + std::strerror(error) +
                     "), where the tracer finds the files with intr's USDT probes; trace a process that this user "
                     "may inspect");
  }
  close(fd);
  std::ifstream maps(maps_path);
  std::vector<std::string> found;
  std::set<std::string> checked;
  std::string line;
  while (std::getline(maps, line)) {
    // address perms offset device inode path
    std::istringstream fields(line);
    std::string address, permissions, offset, device, inode, path;
    fields >> address >> permissions >> offset >> device >> inode;
    std::getline(fields >> std::ws, path);
    if (path.empty() || path.front() != '/' || permissions.find('x') == std::string::npos) continue;
    if (!checked.insert(path).second) continue;
    if (has_intr_probes(path)) found.push_back(path);
  }
  return found;
}

std::string resolve_command(const std::string& command) {
  if (command.empty()) return {};
  if (command.find('/') != std::string::npos) return access(command.c_str(), X_OK) == 0 ? command : std::string{};
  const char* path = std::getenv("PATH");
  std::string_view directories = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    std::size_t end = directories.find(':');
    std::string directory(directories.substr(0, end));
    std::string candidate = (directory.empty() ? std::string(".") : directory) + "/" + command;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string_view::npos) return {};
    directories.remove_prefix(end + 1);
  }
}

}  // namespace intr::trace
