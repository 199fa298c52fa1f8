// stopwords.h — the English stop-word list (scikit-learn's ENGLISH_STOP_WORDS).
// Used by textfeat.c and topwords.c.
#ifndef ELM_STOPWORDS_H
#define ELM_STOPWORDS_H

#include <stddef.h>

// 1 when s[0..len) (lowercase) is a stop word.
int elm_stopword(const char *s, size_t len);
int elm_stopword_count(void);

#endif
