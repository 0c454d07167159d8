#include "tests/load/idle.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace signpost::load {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Stat {
  int ppid = 0;
  long ticks = 0;  // utime + stime
};

// /proc/<pid>/stat: the fields after the command's closing parenthesis.
bool ReadStat(int pid, Stat* out) {
  const std::string text = Slurp(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> f =
      absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  if (f.size() < 13) return false;
  long utime = 0, stime = 0;
  if (!absl::SimpleAtoi(f[1], &out->ppid) || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return false;
  }
  out->ticks = utime + stime;
  return true;
}

double RssMib(int pid) {
  const std::string text = Slurp(absl::StrCat("/proc/", pid, "/status"));
  const size_t at = text.find("VmRSS:");
  if (at == std::string::npos) return 0;
  return std::atol(text.c_str() + at + 6) / 1024.0;
}

// argv[0]'s file name.
std::string ProgramOf(int pid) {
  const std::string cmdline = Slurp(absl::StrCat("/proc/", pid, "/cmdline"));
  const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
  return argv0.substr(argv0.rfind('/') + 1);
}

// The signpost-* children of this process, by pid.
std::map<int, std::string> Children() {
  std::map<int, std::string> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  const int self = getpid();
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    Stat stat;
    if (!ReadStat(pid, &stat) || stat.ppid != self) continue;
    const std::string program = ProgramOf(pid);
    if (absl::StartsWith(program, "signpost-")) out[pid] = program;
  }
  closedir(proc);
  return out;
}

}  // namespace

std::vector<ProcessIdle> MeasureIdle(absl::Duration window) {
  const std::map<int, std::string> children = Children();
  std::map<int, long> before;
  for (const auto& [pid, name] : children) {
    Stat stat;
    if (ReadStat(pid, &stat)) before[pid] = stat.ticks;
  }
  const absl::Time start = absl::Now();
  absl::SleepFor(window);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::vector<ProcessIdle> out;
  for (const auto& [pid, ticks] : before) {
    Stat stat;
    if (!ReadStat(pid, &stat)) continue;
    ProcessIdle p;
    p.name = children.at(pid);
    p.cpu_percent = 100.0 * (stat.ticks - ticks) / hz / seconds;
    p.rss_mib = RssMib(pid);
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const ProcessIdle& a, const ProcessIdle& b) {
              return a.name < b.name;
            });
  return out;
}

}  // namespace signpost::load
