/**
 * The scheduling queue's clock (the role of k8s.io/utils/clock in kube's PriorityQueue): the
 * client machinery's Clock, so that backoff and the periodic flushes run on its FakeClock in tests.
 */
export { type Clock, realClock, type TimerHandle } from "@skiff/client";
