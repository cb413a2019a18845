/* keyring_thread: keyring_process.c with the key in a thread keyring (see there) */
#define IN_THREAD 1
#include "keyring_process.c"
