// tlds.h — the top-level domains twitter-text accepts in URLs (generated into tlds.c by
// scripts/gen_tlds.py). Used by the entity extractor (extract.c) and its tests.
#ifndef ELM_TLDS_H
#define ELM_TLDS_H

// Each list lower-case UTF-8, sorted, NULL-terminated; each regex a non-capturing group
// matching exactly one entry of the list (PCRE2 syntax, caseless use intended).
extern const char elm_tld_country_re[];
extern const char elm_tld_generic_re[];
extern const char *const elm_tld_country[];
extern const char *const elm_tld_generic[];
extern const int elm_tld_country_count;
extern const int elm_tld_generic_count;

#endif
