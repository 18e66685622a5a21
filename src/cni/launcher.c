/* meshcap-launcher: what `meshcap cni install` puts in the bin dir as
 * `meshcap`. The container runtime execs it on the node, whose libraries
 * (and glibc) are not the ones meshcap was built against, so it is linked
 * statically and does one thing: run the bundle next to it with the bundle's
 * own loader and libraries (docs/commands.md, "cni install"):
 *
 *   <dir>/meshcap.d/ld.so --library-path <dir>/meshcap.d/lib --inhibit-cache
 *                         --argv0 <argv[0]> <dir>/meshcap.d/meshcap <args>...
 *
 * meshcap.d is a symbolic link that `cni install` swaps atomically; it is
 * read once here, so the loader, the libraries and the program always come
 * from the same copy. The environment is passed on unchanged.
 *
 * On failure: one line on stderr, exit 1, and when it runs as a CNI plugin
 * (CNI_COMMAND set) the CNI error object on stdout, so the runtime shows why. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "anything else" in the plugin's error codes (docs/commands.md). */
#define CNI_ERROR_CODE 102

static char self_dir[PATH_MAX];
static char bundle[PATH_MAX];
static char loader[PATH_MAX];
static char libs[PATH_MAX];
static char program[PATH_MAX];

/* The config's cniVersion, for the error object: the first string value of a
 * "cniVersion" key on stdin, when it is a plausible version. */
static const char* cni_version(void) {
  static char in[65536];
  static char version[16];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof in - 1 && (got = read(0, in + n, sizeof in - 1 - n)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    n += (size_t)got;
  }
  in[n] = '\0';
  const char* p = strstr(in, "\"cniVersion\"");
  if (!p) return NULL;
  p += strlen("\"cniVersion\"");
  p += strspn(p, " \t\r\n");
  if (*p++ != ':') return NULL;
  p += strspn(p, " \t\r\n");
  if (*p++ != '"') return NULL;
  size_t len = strspn(p, "0123456789.");
  if (len == 0 || len >= sizeof version || p[len] != '"') return NULL;
  memcpy(version, p, len);
  version[len] = '\0';
  return version;
}

static void json_string(const char* s) {
  putchar('"');
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static int die(const char* what, const char* path, int err) {
  char msg[PATH_MAX + 256];
  snprintf(msg, sizeof msg, "%s %s: %s", what, path, strerror(err));
  fprintf(stderr, "meshcap: error: %s (reinstall with `meshcap cni install`)\n", msg);
  if (getenv("CNI_COMMAND")) {
    const char* version = cni_version();
    fputs("{", stdout);
    if (version) printf("\"cniVersion\":\"%s\",", version);
    printf("\"code\":%d,\"msg\":", CNI_ERROR_CODE);
    json_string("meshcap's plugin bundle is broken; reinstall it with `meshcap cni install`");
    fputs(",\"details\":", stdout);
    json_string(msg);
    fputs("}\n", stdout);
    fflush(stdout);
  }
  return 1;
}

static int join(char* out, const char* a, const char* b) {
  int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
  return n > 0 && n < PATH_MAX;
}

int main(int argc, char** argv) {
  /* Where this file is: /proc/self/exe (symbolic links resolved), else the
   * path it was started by (a runtime always gives one). */
  ssize_t n = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
  if (n > 0) {
    self_dir[n] = '\0';
  } else if (argc > 0 && strchr(argv[0], '/') && strlen(argv[0]) < sizeof self_dir) {
    strcpy(self_dir, argv[0]);
  } else {
    return die("cannot find myself through", "/proc/self/exe", errno);
  }
  char* slash = strrchr(self_dir, '/');
  if (slash == self_dir)
    slash[1] = '\0';
  else
    *slash = '\0';

  char link[PATH_MAX], target[PATH_MAX];
  if (!join(link, self_dir, "meshcap.d")) return die("path too long:", self_dir, ENAMETOOLONG);
  n = readlink(link, target, sizeof target - 1);
  if (n > 0) {
    target[n] = '\0';
    int ok = target[0] == '/' ? snprintf(bundle, sizeof bundle, "%s", target) < PATH_MAX
                              : join(bundle, self_dir, target);
    if (!ok) return die("path too long:", target, ENAMETOOLONG);
  } else if (errno == EINVAL) {
    strcpy(bundle, link); /* a plain directory */
  } else {
    return die("cannot read", link, errno);
  }
  if (!join(loader, bundle, "ld.so") || !join(libs, bundle, "lib") || !join(program, bundle, "meshcap"))
    return die("path too long:", bundle, ENAMETOOLONG);
  /* The loader's own message for a missing program is not a CNI error. */
  if (access(program, R_OK) != 0) return die("cannot read", program, errno);

  size_t words = (size_t)argc + 8;
  char** args = calloc(words, sizeof *args);
  if (!args) return die("out of memory starting", loader, ENOMEM);
  size_t i = 0;
  args[i++] = loader;
  args[i++] = "--library-path";
  args[i++] = libs;
  args[i++] = "--inhibit-cache"; /* never the node's /etc/ld.so.cache */
  args[i++] = "--argv0";
  args[i++] = argc > 0 ? argv[0] : program;
  args[i++] = program;
  for (int k = 1; k < argc; ++k) args[i++] = argv[k];
  args[i] = NULL;
  execve(loader, args, environ);
  return die("cannot run", loader, errno);
}
