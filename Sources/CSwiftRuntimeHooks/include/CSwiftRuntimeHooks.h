// The Swift runtime's hook for jobs enqueued on the global executor (swift/Runtime/Concurrency.h),
// referenced directly: `dlsym` does not find it in a binary linked with `--static-swift-stdlib`
// (its symbols are not exported there), which is how SwiftNIO's own take-over looks for it.
#pragma once

/// The address of `swift_task_enqueueGlobal_hook` (a Swift-convention function pointer; NULL: none).
void *_Nullable *_Nonnull chatfn_swift_task_enqueueGlobal_hook(void);
