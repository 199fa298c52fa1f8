// version.h — the built elm's version and git commit, written into the build's version.c by
// cmake/version.cmake at every build (so `elm --version` and manifests name the built commit).
#ifndef ELM_VERSION_H
#define ELM_VERSION_H

extern const char elm_version[];    // the project version, e.g. "0.1.0"
extern const char elm_git_commit[]; // 12 hex digits, or "unknown" outside a git checkout

#endif
