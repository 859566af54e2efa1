/**
 * What a payload may ask of a service, as data: the names a service or an environment variable
 * may not take, and the caps on commands and health checks. The codecs in `payload.ts` enforce
 * these and word the errors; the worker's own limits (sizes, counts) are in `config.ts`.
 */

/** RFC 1123 DNS label: what Docker's embedded DNS resolves as an alias. No dots: no shadowing real domains. */
export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Names a service cannot take: the proxy's alias, and what containers already resolve through
 * Docker's generated /etc/hosts or the engine (`host.docker.internal` has a dot and fails the label rule).
 */
export const RESERVED_SERVICE_NAMES: readonly string[] = [
  'docker',
  'gateway',
  'host',
  'ip6-allnodes',
  'ip6-allrouters',
  'ip6-localhost',
  'ip6-localnet',
  'ip6-loopback',
  'ip6-mcastprefix',
  'localdomain',
  'localhost',
  'taskcluster',
];

/** Injected into every service; the payload cannot set them. */
export const INJECTED_ENV_NAMES: readonly string[] = [
  'RUN_ID',
  'TASK_ID',
  'TASK_SCOPES',
  'TASKCLUSTER_PROXY_URL',
];

/** Names under it belong to Taskcluster; a service reaches Taskcluster through TASKCLUSTER_PROXY_URL. */
export const RESERVED_ENV_PREFIX = 'TASKCLUSTER_';

/**
 * Variables that make a program load or run code it was not built with. A trusted service image
 * holds its role through its proxy; with these, a task author could run their own code inside it.
 */
export const LOADER_HIJACK_ENV_NAMES: readonly string[] = [
  'BASH_ENV',
  'CLASSPATH',
  'ENV',
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'HOSTALIASES',
  'JAVA_TOOL_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'LOCPATH',
  'NLSPATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'PERL5DB',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'PYTHONHOME',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'RESOLV_HOST_CONF',
  'RUBYLIB',
  'RUBYOPT',
  '_JAVA_OPTIONS',
];
/** Every `LD_*` (the dynamic loader's) and `DYLD_*` name is refused too. */
export const LOADER_HIJACK_ENV_PREFIXES: readonly string[] = ['LD_', 'DYLD_'];

/** What a shell and `env` accept as a variable name. */
export const POSIX_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A command's argument count cap; arguments are capped in bytes like env values. */
export const MAX_COMMAND_ARGS = 256;
/** Docker health-check durations are capped so that a payload cannot stall readiness for hours. */
export const MAX_HEALTH_SECONDS = 3600;
/** Docker refuses a non-zero health-check interval or timeout under 1 ms. */
export const MIN_HEALTH_PROBE_SECONDS = 0.001;
export const MAX_HEALTH_RETRIES = 100;

/**
 * An artifact name a service image may come from: `/`-separated segments, none empty, `.` or
 * `..` (the name goes into the queue's URL path, where those would walk to another endpoint),
 * no whitespace. Written for RE2 too (no lookahead): the JSON Schema states the same pattern.
 */
const ARTIFACT_SEGMENT = '(?:[^/\\s.][^/\\s]*|\\.[^/\\s.][^/\\s]*|\\.\\.[^/\\s]+)';
export const ARTIFACT_NAME = new RegExp(`^${ARTIFACT_SEGMENT}(?:/${ARTIFACT_SEGMENT})*$`);
export const MAX_ARTIFACT_NAME_CHARS = 1024;

/** The index's namespace grammar: dot-separated parts of 1–100 URL-safe characters. */
export const INDEX_NAMESPACE = /^[\w!$'()*+,;=@~-]{1,100}(?:\.[\w!$'()*+,;=@~-]{1,100})*$/;
export const MAX_INDEX_NAMESPACE_CHARS = 255;
