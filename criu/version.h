#ifndef CRIU_VERSION_H
#define CRIU_VERSION_H
#define TOOL_VERSION "0.1"
#define TOOL_NAME_VERSION "criu " TOOL_VERSION " (an independent implementation)"
/*
 * The upstream CRIU release whose interfaces this tool follows: what
 * `criu --version` says first and what the RPC VERSION request answers
 * (clients check major*10000 + minor*100 + sublevel; podman needs 31100).
 */
#define CRIU_COMPAT_MAJOR 4
#define CRIU_COMPAT_MINOR 0
#define CRIU_COMPAT_SUBLEVEL 0
#endif
