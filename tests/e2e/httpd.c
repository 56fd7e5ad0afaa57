/* A tiny HTTP/1.0 file server: GET /NAME serves /srv/NAME. SIGTERM: exit 3. */
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
static void on_term(int s) { (void)s; static const char m[] = "httpd: SIGTERM, bye\n"; write(1, m, sizeof m - 1); _exit(3); }
int main(void) {
  signal(SIGTERM, on_term);
  signal(SIGPIPE, SIG_IGN);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
  if (bind(s, (void *)&a, sizeof a) || listen(s, 64)) { perror("httpd: bind"); return 1; }
  printf("httpd: listening on 80\n");
  fflush(stdout);
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    char req[1024], path[600], hdr[128];
    ssize_t n = read(c, req, sizeof req - 1);
    if (n > 0) {
      req[n] = 0;
      char name[256] = "";
      sscanf(req, "GET /%255[^ ]", name);
      snprintf(path, sizeof path, "/srv/%s", strstr(name, "..") ? "" : name);
      int f = open(path, O_RDONLY);
      struct stat st;
      if (f >= 0 && fstat(f, &st) == 0 && S_ISREG(st.st_mode)) {
        int h = snprintf(hdr, sizeof hdr, "HTTP/1.0 200 OK\r\nContent-Length: %lld\r\n\r\n", (long long)st.st_size);
        write(c, hdr, h);
        off_t off = 0;
        while (off < st.st_size && sendfile(c, f, &off, st.st_size - off) > 0) {}
      } else {
        static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        write(c, nf, sizeof nf - 1);
      }
      if (f >= 0) close(f);
    }
    close(c);
  }
}
