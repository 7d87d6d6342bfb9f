/* trap: a C guest that starts and then traps in every tick (TestCGuestTrap). */
#include "minebrain.h"

static int32_t init(void) { return 0; }

static int32_t tick(int64_t now_ns) {
    (void)now_ns;
    __builtin_trap();
}

MB_PLUGIN(init, tick)
