/* Greengrass V1 executable function: prints its architecture and exits.
 * A real function links the Greengrass Core SDK for C; this example keeps to libc so it builds
 * anywhere the builder image has a C compiler. */
#include <stdio.h>
#include <sys/utsname.h>

int main(void) {
    struct utsname u;
    if (uname(&u) != 0) {
        return 1;
    }
    printf("hello from %s on %s\n", "HelloExecutable", u.machine);
    return 0;
}
