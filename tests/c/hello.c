// hello.c: a freestanding C program built the way xv6 user programs are (static, linked at
// address 0, no libc) that talks to the kernel only through the xv6 system-call ABI: write
// (16) and exit (2). The test `tests/xv6_c.rs` runs it and checks what it prints, which
// exercises argv passing and the loading of text, read-only data, data and bss segments.

#define SYS_exit 2
#define SYS_write 16

static long syscall3(long n, long a0, long a1, long a2)
{
  register long r_a0 asm("a0") = a0;
  register long r_a1 asm("a1") = a1;
  register long r_a2 asm("a2") = a2;
  register long r_a7 asm("a7") = n;
  asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a7) : "memory");
  return r_a0;
}

static int sys_write(int fd, const void *buf, int n)
{
  return (int)syscall3(SYS_write, fd, (long)buf, n);
}

static void sys_exit(int status)
{
  syscall3(SYS_exit, status, 0, 0);
  for (;;)
    ;
}

static int length(const char *s)
{
  int n = 0;
  while (s[n])
    n++;
  return n;
}

static void print(const char *s)
{
  sys_write(1, s, length(s));
}

static void print_number(unsigned long v)
{
  char digits[24];
  int i = sizeof(digits);
  do {
    digits[--i] = '0' + v % 10;
    v /= 10;
  } while (v);
  sys_write(1, digits + i, sizeof(digits) - i);
}

// Initialised data (.data) and a large zero-filled array (.bss, spanning several pages).
static volatile int answer = 42;
static volatile char zeros[3 * 4096 + 100];

static int main(int argc, char **argv)
{
  print("hello from C\n");
  print("argc=");
  print_number(argc);
  print("\n");
  for (int i = 0; i < argc; i++) {
    print("argv[");
    print_number(i);
    print("]=");
    print(argv[i]);
    print("\n");
  }
  print(answer == 42 ? "data ok\n" : "data bad\n");
  int clean = 1;
  for (unsigned i = 0; i < sizeof(zeros); i++)
    clean &= zeros[i] == 0;
  zeros[sizeof(zeros) - 1] = 1;
  print(clean && zeros[sizeof(zeros) - 1] == 1 ? "bss ok\n" : "bss bad\n");
  return 0;
}

// The entry point (the ELF's e_entry, placed first by hello.ld): the kernel passes argc in a0
// and argv in a1, as for any C function of two arguments.
__attribute__((section(".text.entry"), noreturn)) void _start(int argc, char **argv)
{
  sys_exit(main(argc, argv));
  __builtin_unreachable();
}
