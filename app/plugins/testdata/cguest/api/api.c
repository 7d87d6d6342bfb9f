/*
 * api: a C guest that checks the helpers of sdk/c/minebrain.h against the host
 * (TestCGuestAPI). Its manifest reads A.U.* of a site with A.U.x = 1, A.U.ySP = 2 and B.U.z = 3,
 * writes A.U.ySP within 0 … 10, and has config name: hello, num: 2.5, flag: true. Every check
 * has its own number; the first that fails is returned by mb_init or mb_tick, which faults
 * the plugin with it ("mb_init returned N", "mb_tick returned N").
 */
#include <math.h>

#include "minebrain.h"

#define CHECK(n, cond) \
    do {               \
        if (!(cond)) return (n); \
    } while (0)

static int32_t init(void) {
    char buf[16];
    mb_value v;

    /* tags */
    CHECK(10, mb_tag_count() == 2);
    CHECK(11, mb_tag_lookup("A.U.x") == 0 && mb_tag_lookup("A.U.ySP") == 1);
    CHECK(12, mb_tag_lookup("B.U.z") == MB_E_NOT_GRANTED);
    CHECK(13, mb_tag_lookup_n("A.U.ySPz", 7) == 1);
    CHECK(14, mb_tag_name(1, buf, sizeof buf) == 7 && strcmp(buf, "A.U.ySP") == 0);
    CHECK(15, mb_tag_name(1, buf, 7) == MB_E_BUFFER); /* room for 6 bytes and the NUL */
    CHECK(16, mb_tag_name(5, buf, sizeof buf) == MB_E_RANGE);
    CHECK(17, mb_read_tag(1, &v) == MB_OK && v.value == 2 && mb_value_good(&v) && v.time_ns > 0);
    CHECK(18, !mb_value_stale(&v) && !mb_value_missing(&v) && !mb_value_bad(&v) && !mb_value_uncertain(&v));
    CHECK(19, mb_read_tag(2, &v) == MB_E_RANGE && mb_read_tag(-1, &v) == MB_E_RANGE);

    /* configuration */
    CHECK(20, mb_config_get("name", buf, sizeof buf) == 5 && strcmp(buf, "hello") == 0);
    CHECK(21, mb_config_get("name", buf, 5) == MB_E_BUFFER);
    CHECK(22, mb_config_get("absent", buf, sizeof buf) == MB_E_NOT_FOUND);
    CHECK(23, mb_config_double("num", 0) == 2.5 && mb_config_double("name", 7) == 7 && mb_config_double("absent", 8) == 8);
    CHECK(24, mb_config_bool("flag", 0) == 1 && mb_config_bool("name", -1) == -1);

    /* key-value store */
    mb_kv_delete("k");
    CHECK(30, mb_kv_get("k", buf, sizeof buf) == MB_E_NOT_FOUND && mb_kv_len("k") == MB_E_NOT_FOUND);
    CHECK(31, mb_kv_set_str("k", "abc") == MB_OK && mb_kv_len("k") == 3);
    CHECK(32, mb_kv_get("k", buf, 2) == MB_E_BUFFER);
    CHECK(33, mb_kv_get("k", buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK(34, mb_kv_set("bin", "\0\1", 2) == MB_OK && mb_kv_len("bin") == 2);
    CHECK(35, mb_kv_delete("k") == MB_OK && mb_kv_get("k", buf, sizeof buf) == MB_E_NOT_FOUND);
    CHECK(36, mb_kv_delete("k") == MB_OK);

    /* setpoints, alarms, log */
    CHECK(40, mb_setpoint_lookup("A.U.ySP") == 0 && mb_setpoint_lookup("A.U.x") == MB_E_NOT_GRANTED);
    CHECK(41, mb_write_result(0) == MB_WRITE_NONE);
    CHECK(42, mb_write_setpoint(0, 11) == MB_E_LIMIT && mb_write_setpoint(0, NAN) == MB_E_LIMIT);
    CHECK(43, mb_alarm_raise("bad name!", MB_PRIORITY_LOW, "x") == MB_E_INVALID);
    CHECK(44, mb_alarm_raise("ok", 9, "x") == MB_E_INVALID);
    CHECK(45, mb_alarm_raise("api.check", MB_PRIORITY_MEDIUM, "raised by init") == MB_OK);
    CHECK(46, mb_log(MB_LEVEL_INFO, "api: init") == MB_OK && mb_logf(MB_LEVEL_DEBUG, "%d %.1f %s", 1, 2.5, "x") == MB_OK);
    CHECK(47, mb_log(7, "x") == MB_E_INVALID);
    CHECK(48, strcmp(mb_strerror(MB_E_RATE), "E_RATE") == 0 && strcmp(mb_strerror(3), "OK") == 0 &&
                  strcmp(mb_strerror(-99), "E_UNKNOWN") == 0);
    return 0;
}

static mb_value vals[4];
static int64_t ticks, last_now;

static int32_t tick(int64_t now_ns) {
    CHECK(50, now_ns > last_now);
    last_now = now_ns;
    CHECK(51, mb_read_tags(vals, 4) == 2 && vals[0].value == 1 && vals[1].value == 2);
    CHECK(52, mb_read_tags(vals, 1) == 1 && mb_read_tags(vals, 0) == 0);
    if (ticks++ > 0) CHECK(53, mb_write_result(0) == MB_WRITE_SHADOWED);
    CHECK(54, mb_write_setpoint(0, 5) == MB_OK);
    if (ticks == 3) CHECK(55, mb_alarm_clear("api.check") == MB_OK);
    return 0;
}

MB_PLUGIN(init, tick)
