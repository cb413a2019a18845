/*
 * sk-error.h - a socket's pending error, seen without clearing it
 * (sk-error.c), for every socket kind that can hold one.
 */
#ifndef CRIU_FILES_SK_ERROR_H
#define CRIU_FILES_SK_ERROR_H

/* refused (one line: what, then kind) if the socket has a pending error
 * (what SO_ERROR would return and clear) or messages on its error queue
 * (MSG_ERRQUEUE): criu can neither read them without taking them from the
 * process nor put them back at restore.  Call before anything reads the
 * socket (a recv of it returns the error and clears it). */
int sk_refuse_error(const char *what, int sk, const char *kind);

#endif /* CRIU_FILES_SK_ERROR_H */
