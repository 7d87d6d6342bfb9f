/*
 * minimal: the smallest useful Minebrain plugin in C.
 *
 * Every tick it reads the crusher's cavity level (config "tag"), nudges the apron feeder's
 * speed setpoint (config "setpoint", granted in plugin.yaml's writes) towards
 * "cavitySP", no faster than "feedMaxRate", raises the alarm "cavity-high" while the level
 * is above "alarmAbove" and clears it below, and counts its ticks in the key-value store
 * under "ticks" (decimal text), which Minebrain keeps across restarts and reloads.
 *
 * Build: minebrain plugin build .   (or the clang command line in README.md)
 */
#include <math.h>

#include "minebrain.h"

/* What init looks up, for tick to use. */
static mb_tag level_tag, feed_tag;
static mb_setpoint feed_sp;
static double cavity_sp, alarm_above, gain, max_step_per_s, feed_min, feed_max;
static uint64_t ticks;
static int64_t prev_ns, period_ns; /* the last tick's clock; the shortest tick interval seen */
static int64_t last_ns;            /* when the last write was accepted (0: none yet) */
static double last_feed;
static int32_t last_result = MB_WRITE_NONE;

/* The tags' values of this tick: this plugin reads two tags, a few records is room enough
 * (read_tags writes at most the records that fit). */
static mb_value vals[8];

/* parse_u64 reads a decimal count; anything else counts as 0. */
static uint64_t parse_u64(const char *s, int32_t n) {
    uint64_t v = 0;
    for (int32_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v;
}

/* format_u64 writes v in decimal into buf (at least 21 bytes); returns its length. */
static int32_t format_u64(uint64_t v, char *buf) {
    char tmp[20];
    int32_t n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) buf[i++] = tmp[--n];
    return i;
}

static int32_t init(void) {
    char name[128], sp[128];
    if (mb_config_get("tag", name, sizeof name) <= 0) strcpy(name, "Crushing.CR1.CavityLevelPct");
    if (mb_config_get("setpoint", sp, sizeof sp) <= 0) strcpy(sp, "Crushing.AF1.FeederSpeedSP");
    level_tag = mb_tag_lookup(name);
    feed_tag = mb_tag_lookup(sp); /* the setpoint's current value: granted in reads too */
    feed_sp = mb_setpoint_lookup(sp);
    if (level_tag < 0 || feed_tag < 0 || feed_sp < 0) {
        mb_logf(MB_LEVEL_ERROR, "minimal: %s or %s not granted (%s %s %s)", name, sp,
                mb_strerror(level_tag), mb_strerror(feed_tag), mb_strerror(feed_sp));
        return 1; /* refuses to start */
    }
    cavity_sp = mb_config_double("cavitySP", 70);
    alarm_above = mb_config_double("alarmAbove", 85);
    gain = mb_config_double("gain", 0.5);
    max_step_per_s = mb_config_double("feedMaxRate", 30) / 60 * 0.99; /* %/min, a margin below the grant */
    feed_min = mb_config_double("feedMin", 30);
    feed_max = mb_config_double("feedMax", 90);

    char buf[24];
    int32_t n = mb_kv_get("ticks", buf, sizeof buf);
    ticks = n > 0 ? parse_u64(buf, n) : 0;
    prev_ns = period_ns = last_ns = 0;
    last_result = MB_WRITE_NONE;
    mb_logf(MB_LEVEL_INFO, "minimal: watching %s, writing %s; %llu ticks so far", name, sp,
            (unsigned long long)ticks);
    return 0;
}

static int32_t tick(int64_t now_ns) {
    char buf[24];

    if (prev_ns && (period_ns == 0 || now_ns - prev_ns < period_ns)) period_ns = now_ns - prev_ns;
    prev_ns = now_ns;

    /* The counter first: it counts every tick, good values or not. */
    ticks++;
    if (mb_kv_set("ticks", buf, (size_t)format_u64(ticks, buf)) != MB_OK) return 2;

    int32_t n = mb_read_tags(vals, (int32_t)(sizeof vals / sizeof vals[0]));
    if (n <= level_tag || n <= feed_tag) return 3;
    const mb_value *level = &vals[level_tag], *feed = &vals[feed_tag];
    if (!mb_value_good(level) || !mb_value_good(feed)) {
        mb_log(MB_LEVEL_WARNING, "minimal: no good value");
        return 0;
    }

    if (level->value > alarm_above)
        mb_alarm_raise("cavity-high", MB_PRIORITY_HIGH, "cavity level above its alarm limit");
    else
        mb_alarm_clear("cavity-high");

    /* The last request's outcome: a refused, rejected or unconfirmed write is logged once
     * (done, pending, shadowed and none are fine). */
    int32_t res = mb_write_result(feed_sp);
    if (res < 0 && res != last_result) mb_logf(MB_LEVEL_WARNING, "minimal: last write: %s", mb_strerror(res));
    last_result = res;

    /* Above the cavity setpoint feed slower, below it faster. The step is kept within the
     * grant's maxRate, measured as the host does: from the last accepted write, or before the
     * first from the setpoint's value one tick period ago (so the first tick only learns the
     * period). */
    if (!last_ns && !period_ns) return 0;
    double base = last_ns ? last_feed : feed->value;
    double dt = (double)(last_ns ? now_ns - last_ns : period_ns) / 1e9;
    double step = gain * (cavity_sp - level->value);
    double max_step = max_step_per_s * dt;
    if (step > max_step) step = max_step;
    if (step < -max_step) step = -max_step;
    double want = base + step;
    if (want < feed_min) want = feed_min;
    if (want > feed_max) want = feed_max;
    if (fabs(want - base) < 1e-6) return 0;
    int32_t rc = mb_write_setpoint(feed_sp, want);
    if (rc == MB_OK) {
        last_feed = want;
        last_ns = now_ns;
    } else {
        mb_logf(MB_LEVEL_WARNING, "minimal: write %.2f: %s", want, mb_strerror(rc));
    }
    return 0;
}

MB_PLUGIN(init, tick)
