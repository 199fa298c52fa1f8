// feed.h — the daily dose of the personal mix (`elm feed`, the `feed` stage after viable): picks
// texts from <run>/viable.jsonl (generated tweets the tuned classifier took for real that are no
// near-copies of training tweets nor of each other) to follow [generate] accounts, day by day.
//
// Slot g = day * per_day + slot asks for the account mix.h's sequence gives text g under
// run.seed (the same Weyl sequence as generation, so the feed holds the mix's shares) and, with
// [generate] topics, the topic the topics' own sequence gives it (elm_gen_mix_pick_text). It
// takes the best-ranked unused viable text conditioned on both whose word set is not a near
// duplicate (Jaccard >= [feed] near_duplicate) of any text already in the feed, so no two texts
// of a feed repeat each other, across days as within one. When none is left it keeps the account
// and drops the topic, then keeps the topic, then takes the best text of any (its "why" says
// which); when none is left at all, the feed ends early. An unconditioned run (no accounts, no
// topics) takes the texts in rank order. Writes <run>/feed/feed.jsonl (one line per text: day,
// slot, asked, asked_topic, account, topic, text, p_real, rank, why) and <run>/feed/feed.json
// (the mix asked for against the one delivered; the topics' under "topics"). A function of its
// inputs and run.seed only: the same inputs give the same feed, byte for byte.
#ifndef ELM_FEED_H
#define ELM_FEED_H

#include "engine/base/error.h"
#include "engine/config/run.h"

int elm_feed_run(ElmRun *run, ElmError *err);

// Jaccard similarity of the lower-cased word sets of a and b (words: runs of letters, digits
// and apostrophes; two empty sets are 1).
double elm_feed_jaccard(const char *a, const char *b);

#endif
