// batcher_fixture.h — what the batcher tests share: the gpt2-tiny fixture with GPT-2's
// vocabulary, loaded for one thread, and a collector of emitted texts that counts order.
#ifndef ELM_BATCHER_FIXTURE_H
#define ELM_BATCHER_FIXTURE_H

#include "elmtest.h"
#include "engine/generate/batcher.h"
#include "engine/model/hf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Loads ../shared/fixtures/gpt2-tiny into m (one thread: CI shares 2 cores, and spinning OpenMP
// threads cost more than they give) and the GPT-2 vocabulary into *bpe. 0 = loaded; otherwise
// the reason is printed.
static int bf_load_tiny(ElmGpt2 *m, ElmBpe **bpe) {
    const char *shared = elm_test_shared();
    if (!shared) return -1;
    char dir[4096];
    ElmError err = {{0}};
    snprintf(dir, sizeof dir, "%s/fixtures/gpt2-tiny", shared);
    if (elm_hf_load(dir, m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    m->threads = 1;
    snprintf(dir, sizeof dir, "%s/data/gpt2-vocab", shared);
    if (!(*bpe = elm_bpe_load_dir(dir, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        elm_gpt2_free(m);
        return -1;
    }
    return 0;
}

#endif
