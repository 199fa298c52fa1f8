// story_topics.h — the seed's last step, "topic model to explore our stories": the topics of the
// generated stories under `elm topics`' LDA, and whether each stays on its prompt's topic.
//
// A story (a line of <run>/generated/stories.jsonl) is its prompt and the text the model wrote
// after it ("text" begins with "prompt"). Three dominant topics are taken under the topics
// stage's vocabulary and LDA (the argmax of the E-step's gamma, -1 when the part has no
// vocabulary word): the whole story's ("topic"), the prompt's and the continuation's. A story
// stays on its prompt's topic when the last two agree; the stay rate counts the stories whose
// prompt and continuation both have a topic. The chance rate is what it would be if the two were
// independent: sum over t of P(prompt topic = t) * P(continuation topic = t), both shares over
// the same stories. Called by eval/topics.c.
#ifndef ELM_STORY_TOPICS_H
#define ELM_STORY_TOPICS_H

#include "engine/config/run.h"
#include "eval/lda.h"
#include "eval/textfeat.h"

#include <cjson/cJSON.h>
#include <stdint.h>

// Adds "stories" to out when <run>/generated/stories.jsonl exists and holds stories: "list"
// (per story: index, topic, prompt_topic, continuation_topic, stays), "topics" (per topic:
// stories, prompts, continuations, stays), and n, scored, stays, stay_rate, chance_rate. Topics
// are 0-based ids of lda. The transform draws its start from seed. Nothing when there are none.
int elm_story_topics_json(const ElmRun *run, const ElmTextFeat *tf, const ElmLda *lda,
                          uint64_t seed, cJSON *out, ElmError *err);

#endif
