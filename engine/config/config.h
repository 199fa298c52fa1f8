// config.h — the INI configuration: a schema table of every section.key, parsing with libinih,
// `--set section.key=value` overrides, typed accessors.
#ifndef ELM_CONFIG_H
#define ELM_CONFIG_H

#include "engine/base/error.h"

#include <stdio.h>

typedef enum {
    ELM_CFG_STR,   // free text
    ELM_CFG_PATH,  // a path; relative paths resolve against the config file's folder
    ELM_CFG_INT,   // integer in [min, max]
    ELM_CFG_FLOAT, // real number in [min, max]
    ELM_CFG_BOOL,  // true/false, yes/no, on/off, 1/0
    ELM_CFG_ENUM,  // one of `choices` ("a|b|c")
    ELM_CFG_LIST,  // repeatable key; each occurrence appends one string
} ElmCfgType;

// One key of the schema. A section is a NULL-terminated array of these (see config_schema.c).
typedef struct ElmCfgKey {
    const char *key;
    ElmCfgType type;
    const char *def; // default as text (NULL = unset / empty list)
    double min, max; // for INT and FLOAT
    const char *choices;
    const char *help;
} ElmCfgKey;

typedef struct ElmCfgSection {
    const char *name;
    const ElmCfgKey *keys;
    const char *help;
} ElmCfgSection;

// The schema: every section elm knows, NULL-name terminated (config_schema.c).
extern const ElmCfgSection elm_cfg_schema[];

typedef enum { ELM_SRC_DEFAULT, ELM_SRC_FILE, ELM_SRC_OVERRIDE } ElmCfgSource;

typedef struct ElmCfgValue {
    const ElmCfgSection *section;
    const ElmCfgKey *spec;
    char *text;      // canonical text (scalars)
    long long i;     // INT, BOOL, ENUM (index into choices)
    double f;        // FLOAT (and INT as double)
    char **items;    // LIST
    int *item_lines; // the config file's line of each item (0: from --set)
    int n_items;
    ElmCfgSource source;
    int line; // line in the config file (ELM_SRC_FILE)
} ElmCfgValue;

typedef struct ElmConfig {
    ElmCfgValue *values;
    int n_values;
    char *path; // config file ("" when none)
    char *dir;  // folder of the config file, for relative paths
} ElmConfig;

// Builds a config holding only defaults.
int elm_config_init(ElmConfig *cfg, ElmError *err);
// Reads an INI file into cfg (on top of defaults). Errors name file:line and suggest keys.
int elm_config_load_file(ElmConfig *cfg, const char *path, ElmError *err);
// Reads INI text (for the embedded demo config); `name` is used in messages.
int elm_config_load_string(ElmConfig *cfg, const char *text, const char *name, ElmError *err);
// Applies one "section.key=value" override.
int elm_config_override(ElmConfig *cfg, const char *assignment, ElmError *err);
void elm_config_free(ElmConfig *cfg);

// Prints the effective config as INI, marking defaults and overrides.
void elm_config_print(const ElmConfig *cfg, FILE *f);

// Accessors by "section.key"; asking for a key not in the schema is a programming error (abort).
const ElmCfgValue *elm_cfg_get(const ElmConfig *cfg, const char *name);
const char *elm_cfg_str(const ElmConfig *cfg, const char *name);
long long elm_cfg_int(const ElmConfig *cfg, const char *name);
double elm_cfg_float(const ElmConfig *cfg, const char *name);
int elm_cfg_bool(const ElmConfig *cfg, const char *name);
int elm_cfg_enum(const ElmConfig *cfg, const char *name); // index into choices
int elm_cfg_list(const ElmConfig *cfg, const char *name, char ***items);
// Resolves a PATH (or any string) value against the config file's folder into out.
int elm_cfg_path(const ElmConfig *cfg, const char *name, char *out, size_t cap);
// Resolves an arbitrary relative path against the config folder.
void elm_cfg_resolve(const ElmConfig *cfg, const char *path, char *out, size_t cap);
// The same for a glob pattern: the config folder is escaped (matched literally), the pattern not.
void elm_cfg_resolve_pattern(const ElmConfig *cfg, const char *pattern, char *out, size_t cap);

// "file:line" (or "--set" / "default") of where a value came from, for error messages.
const char *elm_cfg_where(const ElmConfig *cfg, const char *name, char *buf, size_t cap);
// The same for item i of a LIST value (each repeated line has its own).
const char *elm_cfg_where_item(const ElmConfig *cfg, const char *name, int i, char *buf,
                               size_t cap);

#endif
