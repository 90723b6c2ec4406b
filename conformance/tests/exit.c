/* exit: exit_group ends the process with the given status. The runner checks
 * the status against the EXPECT_EXIT line (its synthetic "exit" case). */
#include "common.h"

#include <sys/syscall.h>

/* Buffered stdio is not flushed by the raw exit_group: only flushed lines appear. */
static const char *case_stdout_before_exit(void) {
    CHECK(printf("# exit: about to call exit_group(42)\n") > 0);
    CHECK(fflush(stdout) == 0);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(stdout_before_exit);
    printf("EXPECT_EXIT 42\n");
    fflush(stdout);
    setvbuf(stdout, NULL, _IOFBF, 4096); /* even on a terminal, keep the next line buffered */
    printf("CASE %s unflushed_line_lost FAIL exit_group flushed stdio\n", case_family);
    syscall(SYS_exit_group, 42);
    return 0;
}
