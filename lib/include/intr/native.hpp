// Forward declaration of the platform of the build target, so that the core
// templates can default to it without including any operating-system header.
#pragma once

namespace intr {

#if defined(__linux__)
struct LinuxPlatform;
using NativePlatform = LinuxPlatform;
#elif defined(_WIN32)
struct WindowsPlatform;
using NativePlatform = WindowsPlatform;
#else
#error "intr supports Linux and Windows"
#endif

}  // namespace intr
