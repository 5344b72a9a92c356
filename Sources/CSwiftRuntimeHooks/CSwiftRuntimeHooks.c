#include "CSwiftRuntimeHooks.h"

extern void *swift_task_enqueueGlobal_hook;

void *_Nullable *_Nonnull chatfn_swift_task_enqueueGlobal_hook(void) {
    return &swift_task_enqueueGlobal_hook;
}
