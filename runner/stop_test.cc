// The graceful-stop policy both VMMs follow, with real signals raised at this process.
#include "runner/stop.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace arrow::runner {
namespace {

using namespace std::chrono_literals;

TEST(ControlLines, InitOnceAndBounded) {
  ControlLines l;
  for (char c : std::string(ControlLines::kMaxControlLine + 10, 'x') + "\n") EXPECT_FALSE(l.Feed(c));  // overlong: no effect
  EXPECT_FALSE(l.init_up());
  bool seen = false;
  for (char c : std::string("arrow:init\n")) seen |= l.Feed(c);
  EXPECT_TRUE(seen);
  EXPECT_TRUE(l.init_up());
  seen = false;
  for (char c : std::string("arrow:init\n")) seen |= l.Feed(c);
  EXPECT_FALSE(seen);  // the boot mark is taken once
}

TEST(GracefulStop, SignalBeforeInitStopsAtOnce) {
  HostSignals s;
  GracefulStop stop(10s);
  EXPECT_FALSE(stop.Tick([] { return false; }));
  raise(SIGTERM);  // counted, not fatal
  auto why = stop.Tick([] { return false; });
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, std::string("stopped by signal ") + strsignal(SIGTERM));
  EXPECT_FALSE(stop.requested());
}

TEST(GracefulStop, FirstSignalRequestsSecondKills) {
  HostSignals s;
  GracefulStop stop(10s);
  int sent = 0;
  raise(SIGINT);
  EXPECT_FALSE(stop.Tick([&] { return ++sent == 1; }));
  EXPECT_TRUE(stop.requested());
  EXPECT_EQ(sent, 1);
  EXPECT_FALSE(stop.Tick([&] { return ++sent == 1; }));  // nothing new: keep waiting
  raise(SIGHUP);
  auto why = stop.Tick([&] { return ++sent == 1; });
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, std::string("stopped by signal ") + strsignal(SIGHUP));
  EXPECT_EQ(sent, 1);  // asked once only
  raise(SIGPIPE);      // ignored
  EXPECT_EQ(HostSignals::count(), 2);
}

TEST(GracefulStop, GracePeriodEnds) {
  HostSignals s;
  GracefulStop stop(50ms);
  raise(SIGTERM);
  EXPECT_FALSE(stop.Tick([] { return true; }));
  std::this_thread::sleep_for(80ms);
  auto why = stop.Tick([] { return true; });
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "the app did not stop within 50 ms of its SIGTERM: the guest was stopped");
}

TEST(ControlLines, ExitStatusWhole) {
  ControlLines l;
  EXPECT_EQ(l.exit_status(), -1);
  for (char c : std::string("arrow:exit 999\narrow:exit x\n")) l.Feed(c);
  EXPECT_EQ(l.exit_status(), -1);  // out of range or not a number: ignored
  for (char c : std::string("arrow:exit 139\n")) l.Feed(c);
  EXPECT_EQ(l.exit_status(), 139);
}

TEST(ControlLines, TraceLinesGoToTheSinkWholeOrNotAtAll) {
  ControlLines l;
  std::vector<std::string> got;
  l.on_trace = [&](const std::string& s) { got.push_back(s); };
  for (char c : std::string("arrow:init\narrow:trace /usr/bin/python3\t/usr/bin/python3\n")) l.Feed(c);
  for (char c : "arrow:trace /" + std::string(ControlLines::kMaxControlLine, 'a') + "\n") l.Feed(c);
  for (char c : std::string("arrow:trace-end 1\n")) l.Feed(c);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "arrow:trace /usr/bin/python3\t/usr/bin/python3");
  EXPECT_EQ(got[1], "arrow:trace-end 1");  // the overlong line was dropped, not cut
}

}  // namespace
}  // namespace arrow::runner
