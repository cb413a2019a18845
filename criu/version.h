#ifndef CRIU_VERSION_H
#define CRIU_VERSION_H
#define TOOL_VERSION "0.1"
#endif
