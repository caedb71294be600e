// The contract of DESIGN.md as OpenAPI 3.1, served at /openapi.json.
const problem = { $ref: '#/components/responses/Problem' };
const secured = { security: [{ bearer: [] }] };
const accepted = { description: 'accepted: {instance, operation}', content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } } };
const errors = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 422: problem };

/** A secured operation with its success status and the problem answers; path parameters by name. */
function op(method: string, summary: string, status: number, _hasParams = false) {
  return { [method]: { ...secured, summary, responses: { [status]: { description: 'success' }, ...errors } } };
}

const query = (name: string, description: string) => ({ name, in: 'query', schema: { type: 'string' }, description });
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  query('cursor', 'the `next` of the page before'),
];
/** A secured list: one page of `{items, next}` (next is null on the last page), with its filters. */
function list(summary: string, filters: Record<string, string> = {}) {
  return {
    get: {
      ...secured, summary, parameters: [...pageParams, ...Object.entries(filters).map(([name, d]) => query(name, d))],
      responses: { 200: { description: '{items, next}' }, ...errors },
    },
  };
}

export const openapi = {
  openapi: '3.1.0',
  info: { title: 'vcloud', version: '1.0.0', description: 'VMs and containers with fixed IPs; every operation is a Temporal workflow.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    responses: {
      Problem: { description: 'problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    },
    schemas: {
      Problem: {
        type: 'object', required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
      CreateInstance: {
        type: 'object', additionalProperties: false, required: ['name', 'zone', 'kind', 'image', 'vcpus', 'memoryMb'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }, zone: { type: 'string' },
          kind: { enum: ['docker', 'kvm'] }, image: { type: 'string' }, vcpus: { type: 'integer', minimum: 1, maximum: 64 },
          memoryMb: { type: 'integer', minimum: 16, maximum: 524288 }, diskGb: { type: 'integer', minimum: 1, maximum: 4096 },
          app: { type: 'string' }, host: { type: 'string', description: 'admin only' }, ip: { type: 'string', format: 'ipv4', description: 'admin only' },
          count: { type: 'integer', minimum: 1, maximum: 20, description: 'a batch: name-1 ... name-<count>, answered {instances, operation}' },
          atomic: { type: 'boolean', description: 'a batch: all or nothing' },
          keys: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string' }, description: 'names or ids of the caller\'s SSH keys, installed for root by the platform' },
        },
      },
      Instance: {
        type: 'object',
        properties: {
          ...Object.fromEntries(['id', 'name', 'hostname', 'ownerId', 'zone', 'kind', 'image', 'app', 'hostId', 'hostName', 'ip', 'mac', 'state', 'createdAt', 'updatedAt']
            .map((k) => [k, { type: ['string', 'null'] }])),
          vcpus: { type: 'integer' }, memoryMb: { type: 'integer' }, diskGb: { type: 'integer' },
          cpuset: { type: ['array', 'null'], items: { type: 'integer' } },
        },
      },
      Operation: {
        type: 'object',
        properties: {
          id: { type: 'string' }, type: { type: 'string' }, state: { enum: ['running', 'succeeded', 'failed', 'cancelled'] },
          workflowId: { type: 'string' }, temporalUiUrl: { type: 'string' }, error: { type: 'string' }, progress: {}, result: {},
        },
      },
      Accepted: { type: 'object', properties: { instance: { $ref: '#/components/schemas/Instance' }, operation: { $ref: '#/components/schemas/Operation' } } },
    },
  },
  paths: {
    '/healthz': { get: { summary: 'liveness and database check', responses: { 200: { description: 'ok' }, 503: problem } } },
    '/openapi.json': { get: { summary: 'this document', responses: { 200: { description: 'OpenAPI document' } } } },
    '/v1/instances': {
      post: {
        ...secured, summary: 'create an instance',
        parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateInstance' } } } },
        responses: { 202: accepted, ...errors },
      },
      ...list('instances of the caller (all, for an admin), newest first', { all: '"true": deleted ones too' }),
    },
    '/v1/instances/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      get: { ...secured, responses: { 200: { description: 'instance' }, 401: problem, 404: problem } },
      delete: { ...secured, responses: { 202: accepted, 401: problem, 404: problem, 409: problem } },
    },
    '/v1/operations': list('operations, newest first: an admin\'s all; a user\'s, those they asked for or on their instances', {
      instance: 'an instance id', state: 'running, succeeded, failed or cancelled', type: 'create, delete, action, snapshot...',
    }),
    '/v1/operations/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      get: { ...secured, responses: { 200: { description: 'operation', content: { 'application/json': { schema: { $ref: '#/components/schemas/Operation' } } } }, 401: problem, 404: problem } },
    },
    '/v1/instances/{id}/actions': {
      ...op('post', 'start, stop, pause, resume or reboot: {action}', 202, true),
      ...list('the instance\'s action log: its operations, who asked, how they ended, what operators did to their workflows (cancel, terminate, reset)'),
    },
    '/v1/instances/{id}/events': list('what the reconciler and repairs found and did to the instance, newest first'),
    '/v1/audit': list('every mutating request, newest first (admin)', { user: 'a user id or name', instance: 'an instance id', since: 'a time', until: 'a time' }),
    '/v1/hosts/{id}/events': list('what the reconciler found and did on the host (admin), newest first'),
    '/v1/instances/{id}/snapshots': { ...list('snapshots of the instance, newest first'), ...op('post', 'take a snapshot', 202, true) },
    '/v1/instances/{id}/snapshots/{snapshotId}': op('delete', 'delete a snapshot and its data', 204, true),
    '/v1/users/{id}/keys': {
      ...list('the user\'s SSH public keys (`me` for the caller; an admin: anyone\'s)'),
      ...op('post', 'register an SSH public key: {name, publicKey} (ed25519, ecdsa, or rsa of at least 2048 bits; stored without its comment)', 201, true),
    },
    '/v1/users/{id}/keys/{keyId}': op('delete', 'forget a key (instances made with it keep it)', 204, true),
    '/v1/instances/{id}/resize': op('post', 'resize: {vcpus?, memoryMb?, diskGb?, allowMigrate?}; the answer\'s resize.plan says how: live (a container keeps running), cold (a running VM is powered off, changed, started), offline (a stopped instance) or migrate (the host has no room and allowMigrate is true: stopped, snapshotted and rebuilt at the new size on a host that fits, same IP and MAC); a disk never shrinks; 422 when the quota has no room, or the host has none and allowMigrate is not set (or no host of the zone fits)', 202, true),
    '/v1/instances/{id}/migrate': op('post', 'migrate: {snapshot?: "latest"|"none"|<id>, host? (admin)}', 202, true),
    '/v1/zones': { ...list('zones, by id'), ...op('post', 'create a zone (admin): {id, subnet, gateway, bridge}', 201) },
    '/v1/zones/{id}/pools': { ...list('pools of a zone (admin)'), ...op('post', 'add a pool (admin): {firstIp, lastIp, reserved?}', 201, true) },
    '/v1/pools/{id}': op('patch', 'grow a pool (admin): {firstIp, lastIp}', 200, true),
    '/v1/pools/{id}/addresses': list('addresses and their states (admin), in address order', { state: 'free, allocated, reserved or quarantined' }),
    '/v1/pools/{id}/addresses/{address}': op('put', 'reserve or free an address (admin): {reserved}', 200, true),
    '/v1/images': {
      ...list('images, by name: public ones and the caller\'s own (all, for an admin)', { mine: '"true": the caller\'s own only' }),
      ...op('post', 'any user: JSON {name, fromSnapshot} (202, an image of theirs from a container snapshot); admin: JSON {name, kind: "docker", reference} or a tgz body with ?name=&kind=tgz (201)', 201),
    },
    '/v1/images/{id}': {
      ...op('get', 'an image', 200, true), ...op('delete', 'delete an image (its owner or an admin); 409 while in use', 204, true),
      ...op('patch', 'set its visibility (admin): {visibility: "private"|"public"}', 200, true),
    },
    '/v1/images/{id}/convert': op('post', 'convert (its owner or an admin): {to: "docker"|"tgz", name?}', 202, true),
    '/v1/hosts': list('hosts (admin), by id'),
    '/v1/hosts/{id}': op('patch', 'set the state (admin): {state}', 200, true),
    '/v1/hosts/{id}/evacuate': op('post', 'evacuate (admin): {concurrency?}', 202, true),
    '/v1/users': { ...list('users (admin), by name'), ...op('post', 'create a user (admin): {name, role}', 201) },
    '/v1/users/{id}': op('get', 'a user (admin)', 200, true),
    '/v1/users/{id}/tokens': { ...list('the user\'s tokens, without their values (admin)'), ...op('post', 'issue a token, shown once (admin)', 201, true) },
    '/v1/users/{id}/grants': list('the user\'s zone grants with their usage (admin)'),
    '/v1/users/{id}/tokens/{tokenId}': op('delete', 'revoke a token (admin)', 204, true),
    '/v1/users/{id}/grants/{zone}': op('put', 'set a zone grant (admin): {maxVcpus, maxMemoryMb, maxInstances}', 200, true),
    '/v1/ip-health/checks': op('post', 'run the IP-pool health check now (admin)', 202),
    '/v1/monitoring/targets': op('get', 'Prometheus HTTP service discovery: the agents that serve metrics (admin)', 200),
    '/v1/instances/{id}/metrics': op('get', 'the instance\'s CPU, memory, disk and network series from Prometheus; ?range=1h&step=60s; 503 if Prometheus is down', 200, true),
    '/v1/hosts/{id}/metrics': op('get', 'the sums over the host\'s instances (admin); ?range=&step=', 200, true),
    '/v1/zones/{id}/metrics': op('get', 'the sums over the zone\'s instances (admin); ?range=&step=', 200, true),
    '/v1/storage/gc': op('post', 'run the storage garbage collection now (admin): the registry\'s unnamed blobs and the image store\'s unnamed files', 202),
    '/v1/ip-health/runs': list('findings of the health check runs (admin), newest first', { zone: 'a zone id' }),
  },
};

// Every {name} in a path is declared once, at the path level.
for (const [route, item] of Object.entries(openapi.paths) as [string, Record<string, unknown>][]) {
  const names = [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (names.length) item.parameters = names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}
