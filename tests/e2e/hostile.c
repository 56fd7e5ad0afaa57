// A hostile guest app for tests/e2e/nested_hostile_test.sh. As root in the guest it attacks
// every interface the built-in VMM exposes, each attack bounded in count and time, printing one
// RESULT line per phase (the host checks them):
//   control  fake reports and an overlong line on the control channel (/dev/ttyS1)
//   console  a flood of the console (COM1) with random bytes
//   nic      random Ethernet frames of random sizes through AF_PACKET on eth0 (libslirp parses them)
//   mmio     random reads and writes over every virtio-mmio window through /dev/mem, while the
//            drivers use them; reads past the registers must give zeros (a present device) or
//            all-ones (an empty window): anything else would be host memory leaking in
//   ports    iopl(3), then random IN/OUT of every width and string IN on every port but the ones
//            that end the VM (0xf4, the i8042 reset) or break the guest's own timer (PIC, PIT)
// and finally exits through port 0xf4 with status 42: a run that ends with 42 means the VMM
// served the whole attack.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MMIO_BASE 0xc0001000UL
#define MMIO_WINDOWS 8
#define WINDOW 0x1000

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 11);
}
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void control(void) {
  int fd = open("/dev/ttyS1", O_WRONLY | O_NOCTTY);
  if (fd < 0) {
    printf("RESULT control skipped (no /dev/ttyS1)\n");
    return;
  }
  static char line[41000];  // longer than the host's bound on a control line (40,000 B)
  long sent = 0;
  const char* fakes[] = {"arrow:exit 0\n", "arrow:ready\n", "arrow:trace /etc/shadow\t/x\n",
                         "arrow:trace-end 99999999999\n", "arrow:exit 99999\n", "arrow:init\n"};
  for (int i = 0; i < 6; i++) sent += write(fd, fakes[i], strlen(fakes[i]));
  // One overlong line, not a flood: the nested test's outer guest stalled during longer floods
  // of this port (the control-line parser's bounds are fuzz_port_io's).
  memset(line, 'A', sizeof line);
  line[sizeof line - 1] = '\n';
  ssize_t n = write(fd, line, sizeof line);
  if (n > 0) sent += n;
  close(fd);
  printf("RESULT control sent %ld bytes\n", sent);
}

static void console(void) {
  static char buf[16384];
  long sent = 0;
  const double end = now() + 20;
  for (int i = 0; i < 8 && now() < end; i++) {  // 128 KiB at most: one VM exit per byte
    for (size_t j = 0; j < sizeof buf; j++) buf[j] = (char)(0x20 + rnd() % 95);
    buf[sizeof buf - 1] = '\n';
    ssize_t n = write(1, buf, sizeof buf);
    if (n > 0) sent += n;
  }
  printf("\nRESULT console flooded %ld bytes\n", sent);
}

static void nic(void) {
  int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (s < 0) {
    printf("RESULT nic skipped (no AF_PACKET)\n");
    return;
  }
  struct sockaddr_ll a = {0};
  a.sll_family = AF_PACKET;
  a.sll_ifindex = (int)if_nametoindex("eth0");
  a.sll_halen = 6;
  static unsigned char f[1514];
  long frames = 0;
  const double end = now() + 30;
  for (int i = 0; i < 20000 && now() < end; i++) {
    size_t len = 14 + rnd() % (sizeof f - 14);
    for (size_t j = 0; j < len; j++) f[j] = (unsigned char)rnd();
    if (i % 3 == 0) {  // an IPv4 header in a third of them, so slirp parses further
      memcpy(f, "\x52\x55\x0a\x00\x02\x02\x52\x54\x00\x12\x34\x56\x08\x00\x45", 15);
    }
    memcpy(a.sll_addr, f, 6);
    if (sendto(s, f, len, 0, (struct sockaddr*)&a, sizeof a) > 0) frames++;
  }
  close(s);
  printf("RESULT nic sent %ld frames\n", frames);
}

static void mmio(void) {
  int fd = open("/dev/mem", O_RDWR | O_SYNC);
  if (fd < 0) {
    printf("RESULT mmio skipped (no /dev/mem)\n");
    return;
  }
  volatile uint8_t* w = mmap(NULL, MMIO_WINDOWS * WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, MMIO_BASE);
  if (w == MAP_FAILED) {
    printf("RESULT mmio skipped (mmap /dev/mem failed)\n");
    close(fd);
    return;
  }
  // Leak check first, while the devices are still sane: past 0x200 only zeros (a device) or
  // all-ones (no device in that window).
  long odd = 0, present = 0;
  for (int d = 0; d < MMIO_WINDOWS; d++) {
    volatile uint32_t* r = (volatile uint32_t*)(w + d * WINDOW);
    const uint32_t magic = r[0];
    if (magic == 0x74726976) present++;
    for (int off = 0x200; off < WINDOW; off += 4) {
      uint32_t v = r[off / 4];
      if (magic == 0x74726976 ? v != 0 : v != 0xffffffffu) odd++;
    }
  }
  printf("RESULT mmio devices %ld, leak-check odd words %ld\n", present, odd);
  fflush(stdout);
  long ops = 0;
  const double end = now() + 45;
  for (int i = 0; i < 40000 && now() < end; i++) {
    const uint32_t d = rnd() % MMIO_WINDOWS, off = rnd() % (WINDOW / 4) * 4, v = rnd();
    volatile uint8_t* p = w + d * WINDOW + off;
    switch (rnd() % 6) {
      case 0: *(volatile uint32_t*)p = v; break;
      case 1: *(volatile uint16_t*)p = (uint16_t)v; break;
      case 2: *p = (uint8_t)v; break;
      case 3: (void)*(volatile uint32_t*)p; break;
      case 4: *(volatile uint32_t*)(w + d * WINDOW + 0x50) = v % 4; break;  // QueueNotify
      case 5: *(volatile uint32_t*)(w + d * WINDOW + 0x80 + (v % 6) * 4) = rnd(); break;  // rings
    }
    ops++;
  }
  munmap((void*)w, MMIO_WINDOWS * WINDOW);
  close(fd);
  printf("RESULT mmio did %ld accesses\n", ops);
}

static int skip_port(unsigned p) {
  return p == 0xf4 || p == 0x60 || p == 0x64 ||  // exit port, i8042 (reset)
         (p >= 0x20 && p <= 0x21) || (p >= 0xa0 && p <= 0xa1) || (p >= 0x40 && p <= 0x43) ||
         p == 0x61 || (p >= 0x4d0 && p <= 0x4d1);  // PIC, PIT, speaker gate, ELCR (in KVM)
}

static void ports(void) {
  if (iopl(3) != 0) {
    printf("RESULT ports skipped (iopl failed)\n");
    return;
  }
  static uint8_t buf[64];
  long ops = 0;
  const double end = now() + 60;
  // Up to 0xfffb: a wider access at the very top would run past the I/O permission bitmap, which
  // the guest kernel answers with SIGSEGV before the VMM ever sees it.
  for (unsigned p = 0; p < 0xfffc && now() < end; p++) {
    if (skip_port(p)) continue;
    const uint32_t v = rnd();
    switch (v % 6) {
      case 0: outb((uint8_t)v, (uint16_t)p); break;
      case 1: outw((uint16_t)v, (uint16_t)p); break;
      case 2: outl(v, (uint16_t)p); break;
      case 3: (void)inb((uint16_t)p); break;
      case 4: (void)inl((uint16_t)p); break;
      case 5: insb((uint16_t)p, buf, 1 + v % 64); break;
    }
    ops++;
  }
  // Then the devices the VMM emulates, harder: COM1, COM2, the boot timer.
  const unsigned hot[] = {0x3f8, 0x2f8, 0x4f0};
  for (int i = 0; i < 20000 && now() < end; i++) {
    const unsigned p = hot[rnd() % 3] + ((rnd() % 3 == 2) ? 0 : rnd() % 8);
    for (int j = 0; j < 64; j++) buf[j] = (uint8_t)rnd();
    // No string OUT (rep outsb) here: with it, the nested test's outer guest (qemu TCG emulating
    // SVM without decode assists) froze in this loop twice, its own watchdog included; the
    // sweep above, which has string IN but no string OUT, completed.
    switch (rnd() % 4) {
      case 0: outb((uint8_t)rnd(), (uint16_t)p); break;
      case 1: (void)inb((uint16_t)p); break;
      case 2: outw((uint16_t)rnd(), (uint16_t)p); break;
      case 3: insb((uint16_t)p, buf, 1 + rnd() % 64); break;
    }
    ops++;
  }
  // Give the UARTs back the settings the guest kernel's driver uses (8N1 without the divisor
  // latch, DTR/RTS/OUT2, no loopback, receive interrupts), so this line can still be printed;
  // the exit status below is what the host relies on.
  for (unsigned base = 0x3f8; base >= 0x2f8; base -= 0x100) {
    outb(0x03, (uint16_t)(base + 3));
    outb(0x0b, (uint16_t)(base + 4));
    outb(0x05, (uint16_t)(base + 1));
  }
  printf("RESULT ports did %ld accesses\n", ops);
  fflush(stdout);
  outb(42, 0xf4);
}

int main(void) {
  // Random bytes on COM1 (loopback mode included) come back as console input: without its own
  // session, a ^C among them would end this app with SIGINT long before the ports are done.
  setsid();
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTSTP, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("RESULT hostile start\n");
  control();
  console();
  nic();
  mmio();
  ports();
  printf("RESULT still running after port 0xf4\n");
  return 3;
}
