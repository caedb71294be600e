// The contract of DESIGN.md as OpenAPI 3.1, served at /openapi.json.
const problem = { $ref: '#/components/responses/Problem' };
const secured = { security: [{ bearer: [] }] };
const accepted = { description: 'accepted: {instance, operation}', content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } } };
const errors = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 422: problem };

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
          id: { type: 'string' }, type: { type: 'string' }, state: { enum: ['running', 'succeeded', 'failed'] },
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
      get: { ...secured, summary: 'instances of the caller (all, for an admin)', responses: { 200: { description: '{items}' }, 401: problem } },
    },
    '/v1/instances/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      get: { ...secured, responses: { 200: { description: 'instance' }, 401: problem, 404: problem } },
      delete: { ...secured, responses: { 202: accepted, 401: problem, 404: problem, 409: problem } },
    },
    '/v1/operations/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      get: { ...secured, responses: { 200: { description: 'operation', content: { 'application/json': { schema: { $ref: '#/components/schemas/Operation' } } } }, 401: problem, 404: problem } },
    },
    '/v1/zones': { get: { ...secured, responses: { 200: { description: '{items}' }, 401: problem } } },
    '/v1/images': { get: { ...secured, responses: { 200: { description: '{items}' }, 401: problem } } },
    '/v1/hosts': { get: { ...secured, summary: 'admin only', responses: { 200: { description: '{items}' }, 401: problem, 403: problem } } },
  },
};
