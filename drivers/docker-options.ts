import { INSTANCE_LABEL, instanceResourceName, type InstanceSpec } from './instance-driver';

/** Registry reference to pull: pinned by digest when the image row has one, so what runs is what was registered. */
export function pullReference(location: string, digest: string | null): string {
  if (!digest) return location;
  const at = location.indexOf('@');
  const base = at >= 0 ? location.slice(0, at) : location;
  const lastSlash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  const repo = colon > lastSlash ? base.slice(0, colon) : base;
  return `${repo}@${digest}`;
}

export interface ContainerCreateOptions {
  name: string; Image: string; Hostname: string; Labels: Record<string, string>;
  HostConfig: {
    NetworkMode: 'none'; CpusetCpus: string; Memory: number; MemorySwap: number; OomKillDisable: false;
    RestartPolicy: { Name: 'no' }; Init: boolean;
    LogConfig: { Type: 'json-file'; Config: { 'max-size': string; 'max-file': string } };
  };
}

export const CONTAINER_LOG_FILE_SIZE = '10m';
export const CONTAINER_LOG_FILES = 3;

/** Pure: the create options for a platform container. No Docker networking; the agent plumbs it. */
export function buildContainerOptions(spec: InstanceSpec): ContainerCreateOptions {
  const bytes = spec.memoryMb * 1024 * 1024;
  return {
    name: instanceResourceName(spec.instanceId),
    Image: pullReference(spec.image.location, spec.image.digest),
    Hostname: spec.hostname,
    Labels: { [INSTANCE_LABEL]: spec.instanceId },
    HostConfig: {
      NetworkMode: 'none',
      CpusetCpus: spec.cpuset.join(','),
      // Memory and memory+swap equal: no swap, and the OOM killer stays on.
      Memory: bytes,
      MemorySwap: bytes,
      OomKillDisable: false,
      RestartPolicy: { Name: 'no' },
      Init: false,
      // A guest that writes without end to its stdout must not fill the host's disk: at most 3 x 10 MB.
      LogConfig: { Type: 'json-file', Config: { 'max-size': CONTAINER_LOG_FILE_SIZE, 'max-file': String(CONTAINER_LOG_FILES) } },
    },
  };
}
