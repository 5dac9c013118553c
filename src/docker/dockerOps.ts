// The Docker API calls rootwatch makes, as the `op` label of rootwatch_docker_errors_total: a small
// file of its own so the metrics sink can name them without loading the Docker client.
export const DOCKER_OPS = ['info', 'version', 'list', 'inspect', 'inspect_exec', 'events'] as const;
export type DockerOp = (typeof DOCKER_OPS)[number];
