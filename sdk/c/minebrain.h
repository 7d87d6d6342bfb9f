/*
 * minebrain.h — the C SDK for Minebrain plugins (sdk/ABI.md, ABI version 1).
 *
 * A single header: the host imports of module "minebrain", typed helpers over them
 * (static inline, nothing to link) and the MB_PLUGIN macro that exports mb_abi_version,
 * mb_init and mb_tick. Build a plugin as a WASI reactor with clang and wasi-libc:
 *
 *     clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *         -I path/to/sdk/c -o plugin.wasm *.c
 *
 * (Debian 12: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32.)
 *
 * A plugin is two functions and one MB_PLUGIN line, in exactly one of its .c files:
 *
 *     #include "minebrain.h"
 *
 *     static mb_tag power;
 *
 *     static int32_t init(void) {
 *         power = mb_tag_lookup("Crushing.CR1.PowerKW");
 *         return power < 0 ? 1 : 0;             // non-zero: the plugin refuses to start
 *     }
 *
 *     static int32_t tick(int64_t now_ns) {
 *         mb_value v;
 *         if (mb_read_tag(power, &v) == MB_OK && mb_value_good(&v))
 *             mb_logf(MB_LEVEL_INFO, "power %.1f kW", v.value);
 *         return 0;                              // non-zero faults the plugin
 *     }
 *
 *     MB_PLUGIN(init, tick)
 *
 * Conventions. Every function that talks to the host returns the ABI's int32_t result
 * code: >= 0 success (a count, an index or a length), negative one of the MB_E_ codes.
 * Names, keys and messages are NUL-terminated UTF-8 strings (the _n variants take a
 * length instead). Nothing in this header calls malloc: a tick that uses it allocates
 * nothing. The host calls the plugin from one thread, one call at a time. Outside wasm the
 * header compiles too (for editors and host-side tests of a plugin's logic); the host
 * imports are then plain declarations the test defines.
 */
#ifndef MINEBRAIN_H
#define MINEBRAIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of sdk/ABI.md this header implements; the manifest's abi: must equal it. */
#define MB_ABI_VERSION 1

/* ---- result codes ------------------------------------------------------------------- */

#define MB_OK 0             /**< success */
#define MB_E_NOT_GRANTED -1 /**< no such tag or setpoint in the manifest */
#define MB_E_BUFFER -2      /**< the buffer is too small; nothing was written */
#define MB_E_RANGE -3       /**< an index or argument out of range */
#define MB_E_LIMIT -4       /**< outside the manifest's min/max, or a key-value limit */
#define MB_E_RATE -5        /**< faster than the manifest's max rate, or the log rate */
#define MB_E_NOT_FOUND -6   /**< no such key */
#define MB_E_REFUSED -7     /**< the control path refused the last write */
#define MB_E_REJECTED -8    /**< the equipment refused the last write */
#define MB_E_TIMEOUT -9     /**< the last write was not confirmed in time */
#define MB_E_INVALID -10    /**< a malformed argument (bad UTF-8, alarm name, priority) */

/* ---- the host imports (module "minebrain"), exactly as in sdk/ABI.md ------------------
 * Pointers are i32 offsets into the module's memory; lengths and capacities are i32. Use
 * the typed helpers below rather than these. */

#if defined(__wasm__)
#define MB_IMPORT_(name) __attribute__((import_module("minebrain"), import_name(name)))
#define MB_EXPORT_(name) __attribute__((export_name(name)))
#else
/* Outside wasm (an editor, or a unit test of the plugin's logic compiled for this machine)
 * the imports are plain declarations: a test that calls them defines stand-ins for them. */
#define MB_IMPORT_(name)
#define MB_EXPORT_(name)
#endif

/** tag_count() -> i32: how many tags the plugin may read. */
MB_IMPORT_("tag_count") int32_t mb_host_tag_count(void);
/** tag_index(name_ptr, name_len) -> i32: a readable tag's index, or MB_E_NOT_GRANTED. */
MB_IMPORT_("tag_index") int32_t mb_host_tag_index(const char *name, int32_t name_len);
/** tag_name(index, buf_ptr, buf_cap) -> i32: the tag's name length, MB_E_BUFFER, MB_E_RANGE. */
MB_IMPORT_("tag_name") int32_t mb_host_tag_name(int32_t index, char *buf, int32_t buf_cap);
/** read_tags(buf_ptr, buf_cap) -> i32: TagValue records written, in index order. */
MB_IMPORT_("read_tags") int32_t mb_host_read_tags(void *buf, int32_t buf_cap);
/** setpoint_index(name_ptr, name_len) -> i32: a writable setpoint's index, or MB_E_NOT_GRANTED. */
MB_IMPORT_("setpoint_index") int32_t mb_host_setpoint_index(const char *name, int32_t name_len);
/** write_setpoint(index, value f64) -> i32: 0 accepted, MB_E_LIMIT, MB_E_RATE (a bad index faults). */
MB_IMPORT_("write_setpoint") int32_t mb_host_write_setpoint(int32_t index, double value);
/** write_result(index) -> i32: the outcome of the last request (MB_WRITE_*). */
MB_IMPORT_("write_result") int32_t mb_host_write_result(int32_t index);
/** alarm_raise(name_ptr, name_len, priority, msg_ptr, msg_len) -> i32. */
MB_IMPORT_("alarm_raise") int32_t mb_host_alarm_raise(const char *name, int32_t name_len, int32_t priority,
                                                      const char *msg, int32_t msg_len);
/** alarm_clear(name_ptr, name_len) -> i32. */
MB_IMPORT_("alarm_clear") int32_t mb_host_alarm_clear(const char *name, int32_t name_len);
/** log(level, msg_ptr, msg_len) -> i32: 0, or MB_E_RATE when dropped. */
MB_IMPORT_("log") int32_t mb_host_log(int32_t level, const char *msg, int32_t msg_len);
/** kv_get(key_ptr, key_len, buf_ptr, buf_cap) -> i32: the value's length, MB_E_NOT_FOUND, MB_E_BUFFER. */
MB_IMPORT_("kv_get") int32_t mb_host_kv_get(const char *key, int32_t key_len, void *buf, int32_t buf_cap);
/** kv_len(key_ptr, key_len) -> i32: the value's length, or MB_E_NOT_FOUND. */
MB_IMPORT_("kv_len") int32_t mb_host_kv_len(const char *key, int32_t key_len);
/** kv_set(key_ptr, key_len, val_ptr, val_len) -> i32: 0, or MB_E_LIMIT. */
MB_IMPORT_("kv_set") int32_t mb_host_kv_set(const char *key, int32_t key_len, const void *val, int32_t val_len);
/** kv_delete(key_ptr, key_len) -> i32: 0 (also when absent). */
MB_IMPORT_("kv_delete") int32_t mb_host_kv_delete(const char *key, int32_t key_len);
/** config_get(key_ptr, key_len, buf_ptr, buf_cap) -> i32: the value's length, MB_E_NOT_FOUND, MB_E_BUFFER. */
MB_IMPORT_("config_get") int32_t mb_host_config_get(const char *key, int32_t key_len, char *buf, int32_t buf_cap);


/** The length of a NUL-terminated string as the ABI's i32 (internal). */
static inline int32_t mb_len_(const char *s) { return s ? (int32_t)strlen(s) : 0; }

/* ---- the plugin's exports -------------------------------------------------------------- */

/**
 * MB_PLUGIN(init_fn, tick_fn) defines the module's exports mb_abi_version (returns
 * MB_ABI_VERSION), mb_init (calls init_fn) and mb_tick (calls tick_fn). Write it once, at
 * file scope, in exactly one .c file of the plugin. init_fn is int32_t (void): it runs once
 * after loading and after every reload; 0 = ready, anything else refuses to start (the
 * plugin is FAULTED with that code). tick_fn is int32_t (int64_t now_ns): it runs every
 * tick period with the host's clock in Unix nanoseconds; 0 = ok, anything else faults the
 * plugin with that code. Both must return within the manifest's budget.
 */
#define MB_PLUGIN(init_fn, tick_fn)                                                              \
    MB_EXPORT_("mb_abi_version") int32_t mb_abi_version(void) { return MB_ABI_VERSION; }        \
    MB_EXPORT_("mb_init") int32_t mb_init(void) { return (init_fn)(); }                         \
    MB_EXPORT_("mb_tick") int32_t mb_tick(int64_t now_ns) { return (tick_fn)(now_ns); }

/* ---- tags ------------------------------------------------------------------------------ */

/** A readable tag: its ABI index, 0 … mb_tag_count()-1, in the order of the tag names. */
typedef int32_t mb_tag;

/** mb_value.flags bit: its connection is down or it stopped updating. */
#define MB_FLAG_STALE 0x1u
/** mb_value.flags bit: never received (value is NaN, time_ns 0). */
#define MB_FLAG_NEVER 0x2u

/** A tag's value: the ABI's TagValue record, 24 bytes, 8-aligned. */
typedef struct mb_value {
    double value;    /**< the value (booleans 0/1; NaN when there is no number) */
    uint32_t status; /**< OPC UA status code (0 good; top bits 01 uncertain, 1x bad) */
    uint32_t flags;  /**< MB_FLAG_STALE, MB_FLAG_NEVER */
    int64_t time_ns; /**< source timestamp, Unix nanoseconds; 0 when never received */
} mb_value;

_Static_assert(sizeof(mb_value) == 24, "mb_value must be the ABI's 24-byte TagValue");
_Static_assert(offsetof(mb_value, status) == 8 && offsetof(mb_value, flags) == 12 &&
                   offsetof(mb_value, time_ns) == 16,
               "mb_value must have the ABI's TagValue layout");

/** The number of tags the plugin may read (the manifest's reads matched at load). */
static inline int32_t mb_tag_count(void) { return mb_host_tag_count(); }

/** The index of the readable tag called name, or MB_E_NOT_GRANTED when the manifest does
 *  not grant it (or the site has no such tag). Look tags up once, in init. */
static inline mb_tag mb_tag_lookup(const char *name) { return mb_host_tag_index(name, mb_len_(name)); }

/** Like mb_tag_lookup with a name of len bytes (not NUL-terminated). */
static inline mb_tag mb_tag_lookup_n(const char *name, int32_t len) { return mb_host_tag_index(name, len); }

/** Writes the name of tag into buf, NUL-terminated; returns its length (without the NUL),
 *  MB_E_BUFFER when buf (cap bytes, room for the NUL included) is too small, or MB_E_RANGE. */
static inline int32_t mb_tag_name(mb_tag tag, char *buf, size_t cap) {
    if (cap == 0) return MB_E_BUFFER;
    int32_t n = mb_host_tag_name(tag, buf, (int32_t)(cap - 1));
    if (n >= 0) buf[n] = '\0';
    return n;
}

/** Reads the latest value of every readable tag, in index order, into vals (room for n
 *  records): one host call. Returns the number of records written (at most n). Call it
 *  once per tick into an array you keep (static or on the stack: no allocation) so that
 *  all the values a tick sees are one consistent snapshot; vals[tag] is the value of tag. */
static inline int32_t mb_read_tags(mb_value *vals, int32_t n) {
    if (n <= 0) return 0;
    return mb_host_read_tags(vals, n * (int32_t)sizeof(mb_value));
}

/** Reads one tag's latest value into *v: MB_OK, or MB_E_RANGE for a tag outside
 *  0 … mb_tag_count()-1. It reads the tags up to tag with one read_tags call into a
 *  stack buffer; to read several tags in a tick, prefer one mb_read_tags. */
static inline int32_t mb_read_tag(mb_tag tag, mb_value *v) {
    mb_value buf[16];
    if (tag < 0) return MB_E_RANGE;
    if (tag < 16) {
        int32_t n = mb_read_tags(buf, tag + 1);
        if (n <= tag) return MB_E_RANGE;
        *v = buf[tag];
        return MB_OK;
    }
    /* The records are written in index order: read tag+1 of them into a buffer big enough
     * only when needed (a VLA on the stack, no malloc). */
    if (tag >= mb_tag_count()) return MB_E_RANGE;
    {
        mb_value big[tag + 1];
        int32_t n = mb_read_tags(big, tag + 1);
        if (n <= tag) return MB_E_RANGE;
        *v = big[tag];
    }
    return MB_OK;
}

/** Whether the value can be used: an OPC UA status of class good, not stale, received. */
static inline int mb_value_good(const mb_value *v) {
    return (v->status >> 30) == 0 && (v->flags & (MB_FLAG_STALE | MB_FLAG_NEVER)) == 0;
}
/** Whether the OPC UA status is of class uncertain (top two bits 01). */
static inline int mb_value_uncertain(const mb_value *v) { return (v->status >> 30) == 1; }
/** Whether the OPC UA status is of class bad (top two bits 1x). */
static inline int mb_value_bad(const mb_value *v) { return (v->status >> 30) >= 2; }
/** Whether the value is stale: its connection is down or it stopped updating. */
static inline int mb_value_stale(const mb_value *v) { return (v->flags & MB_FLAG_STALE) != 0; }
/** Whether the tag was never received (value NaN). */
static inline int mb_value_missing(const mb_value *v) { return (v->flags & MB_FLAG_NEVER) != 0; }

/* ---- setpoints ------------------------------------------------------------------------- */

/** A writable setpoint: its ABI index, the position of its entry in the manifest's writes. */
typedef int32_t mb_setpoint;

/** The outcomes mb_write_result reports (with MB_E_REFUSED, MB_E_REJECTED, MB_E_TIMEOUT). */
#define MB_WRITE_DONE 0     /**< written and confirmed */
#define MB_WRITE_PENDING 1  /**< on its way */
#define MB_WRITE_SHADOWED 2 /**< mode SHADOW: recorded, not sent */
#define MB_WRITE_NONE 3     /**< no request yet */

/** The index of the writable setpoint on tag name, or MB_E_NOT_GRANTED when it is not in
 *  the manifest's writes. Look setpoints up once, in init. */
static inline mb_setpoint mb_setpoint_lookup(const char *name) {
    return mb_host_setpoint_index(name, mb_len_(name));
}

/** Asks to write value to sp: MB_OK (accepted for this tick), MB_E_LIMIT (outside the
 *  manifest's min/max) or MB_E_RATE (faster than its maxRate). The request goes through
 *  the control path after the tick returns (in mode SHADOW it is only recorded); see
 *  mb_write_result. One request per setpoint per tick: a second replaces the first. A
 *  setpoint index outside the manifest faults the plugin. */
static inline int32_t mb_write_setpoint(mb_setpoint sp, double value) { return mb_host_write_setpoint(sp, value); }

/** The outcome of the last request to sp: MB_WRITE_DONE, _PENDING, _SHADOWED, _NONE, or
 *  MB_E_REFUSED, MB_E_REJECTED, MB_E_TIMEOUT (MB_E_RANGE for an index outside the manifest). */
static inline int32_t mb_write_result(mb_setpoint sp) { return mb_host_write_result(sp); }

/* ---- alarms ---------------------------------------------------------------------------- */

#define MB_PRIORITY_CRITICAL 0 /**< alarm priority: critical */
#define MB_PRIORITY_HIGH 1     /**< alarm priority: high */
#define MB_PRIORITY_MEDIUM 2   /**< alarm priority: medium */
#define MB_PRIORITY_LOW 3      /**< alarm priority: low */

/** Raises the system-class alarm plugin.<plugin id>.<name>, or updates its message. name is
 *  1–64 characters of [A-Za-z0-9_.-]; MB_E_INVALID for a bad name, priority or UTF-8. */
static inline int32_t mb_alarm_raise(const char *name, int32_t priority, const char *msg) {
    return mb_host_alarm_raise(name, mb_len_(name), priority, msg, mb_len_(msg));
}

/** Tells the alarm engine the alarm's condition is gone (the operator still acknowledges
 *  it); clearing an alarm that is not raised is not an error. */
static inline int32_t mb_alarm_clear(const char *name) { return mb_host_alarm_clear(name, mb_len_(name)); }

/* ---- log ------------------------------------------------------------------------------- */

#define MB_LEVEL_DEBUG 0   /**< log level debug */
#define MB_LEVEL_INFO 1    /**< log level info */
#define MB_LEVEL_WARNING 2 /**< log level warning */
#define MB_LEVEL_ERROR 3   /**< log level error */

/** Writes msg to the plugin's log at level. The host keeps at most 100 entries a second and
 *  64 KiB a tick and drops the rest (MB_E_RATE). */
static inline int32_t mb_log(int32_t level, const char *msg) { return mb_host_log(level, msg, mb_len_(msg)); }

/** Like mb_log with a message of len bytes. */
static inline int32_t mb_log_n(int32_t level, const char *msg, int32_t len) { return mb_host_log(level, msg, len); }

/** Formats with vsnprintf into a 512-byte stack buffer (longer messages are cut) and logs
 *  it; no allocation. %f/%g pull wasi-libc's printf into the module (about 40 KiB). */
__attribute__((format(printf, 2, 3))) static inline int32_t mb_logf(int32_t level, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return MB_E_INVALID;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    return mb_host_log(level, buf, n);
}

/* ---- key-value store ------------------------------------------------------------------- */

/** Copies the value stored under key into buf (cap bytes); returns its length,
 *  MB_E_NOT_FOUND, or MB_E_BUFFER (too small: nothing written; mb_kv_len gives the length).
 *  The value is bytes, not NUL-terminated. Keys are 1–256 bytes. */
static inline int32_t mb_kv_get(const char *key, void *buf, size_t cap) {
    return mb_host_kv_get(key, mb_len_(key), buf, (int32_t)cap);
}

/** The length of the value stored under key, or MB_E_NOT_FOUND. */
static inline int32_t mb_kv_len(const char *key) { return mb_host_kv_len(key, mb_len_(key)); }

/** Stores len bytes of val under key: MB_OK, or MB_E_LIMIT (values up to 64 KiB, at most
 *  1,000 keys and 1 MiB per plugin). Kept in Minebrain's database across restarts and
 *  reloads; written when the tick (or init) returns. */
static inline int32_t mb_kv_set(const char *key, const void *val, size_t len) {
    return mb_host_kv_set(key, mb_len_(key), val, (int32_t)len);
}

/** Stores the NUL-terminated string s (without the NUL) under key. */
static inline int32_t mb_kv_set_str(const char *key, const char *s) { return mb_kv_set(key, s, (size_t)mb_len_(s)); }

/** Removes key; removing an absent key is not an error. */
static inline int32_t mb_kv_delete(const char *key) { return mb_host_kv_delete(key, mb_len_(key)); }

/* ---- configuration --------------------------------------------------------------------- */

/** Copies the manifest's config value for key into buf as text, NUL-terminated (numbers as
 *  written in the manifest, booleans true/false); returns its length (without the NUL),
 *  MB_E_NOT_FOUND, or MB_E_BUFFER when buf (cap bytes, room for the NUL included) is too
 *  small. Read the configuration once, in init. */
static inline int32_t mb_config_get(const char *key, char *buf, size_t cap) {
    if (cap == 0) return MB_E_BUFFER;
    int32_t n = mb_host_config_get(key, mb_len_(key), buf, (int32_t)(cap - 1));
    if (n >= 0) buf[n] = '\0';
    return n;
}

/** The config value for key as a number, or def when it is absent, too long or not a
 *  number. */
static inline double mb_config_double(const char *key, double def) {
    char buf[64], *end;
    if (mb_config_get(key, buf, sizeof buf) <= 0) return def;
    double d = strtod(buf, &end);
    return *end == '\0' ? d : def;
}

/** The config value for key as a boolean (true/false, 1/0), or def when it is absent or
 *  not a boolean. */
static inline int mb_config_bool(const char *key, int def) {
    char buf[8];
    if (mb_config_get(key, buf, sizeof buf) <= 0) return def;
    if (!strcmp(buf, "true") || !strcmp(buf, "1")) return 1;
    if (!strcmp(buf, "false") || !strcmp(buf, "0")) return 0;
    return def;
}

/** The name of a result code, e.g. "E_RATE" for MB_E_RATE, "OK" for codes >= 0. */
static inline const char *mb_strerror(int32_t code) {
    static const char *const names[] = {"OK",       "E_NOT_GRANTED", "E_BUFFER",   "E_RANGE",
                                        "E_LIMIT",  "E_RATE",        "E_NOT_FOUND", "E_REFUSED",
                                        "E_REJECTED", "E_TIMEOUT",   "E_INVALID"};
    if (code >= 0) return names[0];
    if (code >= -10) return names[-code];
    return "E_UNKNOWN";
}

#ifdef __cplusplus
}
#endif

#endif /* MINEBRAIN_H */
