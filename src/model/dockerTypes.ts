// The parts of Docker Engine API responses that rootwatch reads. Every field is optional on purpose:
// older engines omit some (CgroupnsMode before API 1.41), and inspect data is untrusted input.

export interface MountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

export interface DeviceMapping {
  PathOnHost?: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

export interface HostConfig {
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  /** API 1.40 only: a full capability list replacing the defaults. */
  Capabilities?: string[] | null;
  SecurityOpt?: string[] | null;
  PidMode?: string;
  IpcMode?: string;
  NetworkMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  CgroupnsMode?: string;
  ReadonlyRootfs?: boolean;
  Memory?: number;
  PidsLimit?: number | null;
  Devices?: DeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  Sysctls?: Record<string, string> | null;
  Runtime?: string;
  CgroupParent?: string;
  Binds?: string[] | null;
}

export interface ContainerInspect {
  Id: string;
  Name?: string;
  Created?: string;
  Path?: string;
  Args?: string[];
  State?: { Status?: string; Running?: boolean; Pid?: number; StartedAt?: string };
  Image?: string;
  AppArmorProfile?: string;
  HostConfig?: HostConfig;
  Mounts?: MountPoint[] | null;
  /** Host files Docker bind-mounts into the container itself (under <data root>/containers/<id>/). */
  ResolvConfPath?: string;
  HostnamePath?: string;
  HostsPath?: string;
  Config?: {
    User?: string;
    Image?: string;
    Labels?: Record<string, string> | null;
    Env?: string[] | null;
    Hostname?: string;
  };
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null };
}

/** GET /exec/{id}/json. Note the lower-case keys under ProcessConfig. */
export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running?: boolean;
  Pid?: number;
  ProcessConfig?: {
    privileged?: boolean;
    user?: string;
    entrypoint?: string;
    arguments?: string[];
    tty?: boolean;
  };
}

export interface DockerInfo {
  ID?: string;
  Name?: string;
  SecurityOptions?: string[] | null;
  CgroupVersion?: string;
  CgroupDriver?: string;
  DockerRootDir?: string;
  Runtimes?: Record<string, unknown> | null;
  DefaultRuntime?: string;
  LiveRestoreEnabled?: boolean;
  Plugins?: { Authorization?: string[] | null } | null;
  Warnings?: string[] | null;
  KernelVersion?: string;
  OperatingSystem?: string;
  Architecture?: string;
  ServerVersion?: string;
  ContainersRunning?: number;
}

export interface DockerVersion {
  Version?: string;
  ApiVersion?: string;
  KernelVersion?: string;
  Components?: { Name?: string; Version?: string; Details?: Record<string, string> }[] | null;
}

/** One line of the /events stream. */
export interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}
