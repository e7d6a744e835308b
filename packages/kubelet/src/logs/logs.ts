/**
 * Container logs as the kubelet keeps them: files in the CRI log format
 * (`<RFC3339Nano> <stdout|stderr> <F|P> <text>`), one directory per pod
 * (`<root>/<namespace>_<name>_<uid>/<container>/<restartCount>.log`, as /var/log/pods), rotated by
 * size, read back for `kubectl logs` with kube's options.
 */

/** kube's PodLogOptions as the kubelet applies them to one container's log. */
export interface LogOptions {
  follow?: boolean;
  /** Lines from the end; negative or absent: all. */
  tailLines?: number;
  /** Only lines newer than this many seconds. */
  sinceSeconds?: number;
  /** Only lines at or after this RFC 3339 time. */
  sinceTime?: string;
  /** Prefix each line with its RFC3339Nano timestamp. */
  timestamps?: boolean;
  /** Stop after this many bytes. */
  limitBytes?: number;
}
