import { PassThrough } from 'node:stream';
import { Router } from 'express';
import crypto from 'node:crypto';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { reply, validationError } from '../problem';
import { convertBody, registerDockerImageBody, uploadQuery } from '../schemas';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation, imageView } from '../views';
import { convertImage } from '../../workflows';
import { getImage, imageInUse, insertImage, locationShared, markImageDeleted, type ImageRow } from '../../db/images';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { DirImageStore, TooLargeError } from '../../images/image-store';
import { RegistryClient, parseReference } from '../../images/registry';
import { NotAnArchiveError, UnsafeArchiveError, inspectTemplate } from '../../host/template-archive';

export function imageRoutes(deps: Deps): Router {
  const { db, config } = deps;
  const router = Router();
  const store = new DirImageStore(config.imageStoreDir);
  const registry = new RegistryClient(config.registry);
  const imageOr404 = async (id: string): Promise<ImageRow> => {
    const image = await getImage(db, id);
    if (!image || image.state === 'deleted') throw new NotFoundError(`image ${id} not found`);
    return image;
  };

  router.get('/v1/images/:id', asyncRoute(async (req, res) => {
    res.json(imageView(await imageOr404(req.params.id), currentUser(req)));
  }));

  // Register: a JSON body names a reference in the registry; a gzip body is a tgz template upload.
  router.post('/v1/images', asyncRoute(async (req, res) => {
    requireAdmin(req);
    if (req.is('application/json')) {
      const parsed = registerDockerImageBody.safeParse(req.body);
      if (!parsed.success) throw validationError(parsed.error);
      const body = parsed.data;
      if (body.kind !== 'docker') {
        throw new ValidationError('a tgz template is uploaded as the request body (Content-Type: application/gzip)', [{ path: 'kind', message: 'must be docker for a reference' }]);
      }
      const ref = parseReference(body.reference);
      if (!registry.owns(ref)) {
        throw new ValidationError(`only the platform registry ${config.registry} can be used`, [{ path: 'reference', message: `must be in ${config.registry}` }]);
      }
      const digest = await registry.digestOf(ref);
      if (!digest) throw new AppError(422, 'Unprocessable Entity', `the registry has no image ${body.reference}`, { errors: [{ path: 'reference', message: 'not in the registry' }] });
      if (ref.digest && ref.digest !== digest) throw new ValidationError('the digest does not match the registry', [{ path: 'reference', message: 'digest mismatch' }]);
      const location = `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}`;
      const row = await insertImage(db, { name: body.name, kind: 'docker', location, digest, boot: null });
      return res.status(201).json(imageView(row));
    }
    if (!req.is('application/gzip') && !req.is('application/x-gzip') && !req.is('application/octet-stream')) {
      throw new AppError(415, 'Unsupported Media Type', 'send JSON {name, kind: "docker", reference} or a tgz body with ?name=&kind=tgz');
    }
    const q = uploadQuery.safeParse(req.query);
    if (!q.success) throw validationError(q.error);
    const tooLarge = () => new AppError(413, 'Payload Too Large', `an image upload is at most ${config.maxImageUploadBytes} bytes`);
    if (Number(req.header('content-length') ?? 0) > config.maxImageUploadBytes) throw tooLarge();
    if (await getImage(db, q.data.name)) throw new ConflictError(`an image named ${q.data.name} exists`);
    const key = `${crypto.randomUUID()}.tgz`;
    // Through a PassThrough: a cut-off store destroys it, not the request, so the 413 still reaches
    // the client; the connection is closed after it rather than the rest of the body read.
    const body = new PassThrough();
    req.pipe(body);
    const stored = await store.put(key, body, { maxBytes: config.maxImageUploadBytes }).catch((err) => {
      if (!(err instanceof TooLargeError)) throw err;
      req.unpipe(body);
      res.setHeader('Connection', 'close');
      throw tooLarge();
    });
    try {
      const { boot, unpackedBytes } = await inspectTemplate(stored.location).catch((err) => {
        if (err instanceof NotAnArchiveError) throw new ValidationError('the body is not a gzipped tar', [{ path: '(body)', message: 'not a tgz' }]);
        if (err instanceof UnsafeArchiveError) throw new AppError(422, 'Unprocessable Entity', err.message, { errors: [{ path: '(body)', message: err.message }] });
        throw err;
      });
      const row = await insertImage(db, {
        name: q.data.name, kind: 'tgz', location: stored.location, digest: stored.digest, size_bytes: unpackedBytes,
        boot: boot ? { ...boot, cmdline: 'console=ttyS0' } : null,
      });
      res.status(201).json(imageView(row));
    } catch (err) {
      await store.delete(stored.location);
      throw err;
    }
  }));

  router.delete('/v1/images/:id', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const image = await imageOr404(req.params.id);
    const busy = await db.transaction(async (trx) => {
      await trx('images').where({ id: image.id }).forUpdate();
      const why = await imageInUse(trx, image.id);
      if (!why) await markImageDeleted(trx, image.id);
      return why;
    });
    if (busy) throw new ConflictError(`image ${image.name} is in use: ${busy}`);
    // The data goes only when no other live image keeps it.
    if (image.state === 'ready' && !(await locationShared(db, image))) {
      if (image.kind === 'tgz') await store.delete(image.location).catch(() => undefined);
      else if (image.digest) await registry.deleteManifest(parseReference(image.location), image.digest).catch(() => undefined);
    }
    res.status(204).end();
  }));

  router.post('/v1/images/:id/convert', asyncRoute(async (req, res) => {
    const user = requireAdmin(req);
    const source = await imageOr404(req.params.id);
    const parsed = convertBody.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const { to } = parsed.data;
    if (to === source.kind) throw new ValidationError(`image ${source.name} is already a ${to} image`, [{ path: 'to', message: 'must be the other kind' }]);
    if (source.state !== 'ready') throw new ConflictError(`image ${source.name} is ${source.state}`);
    const name = parsed.data.name ?? `${source.name}-${to}`;
    let target: ImageRow | undefined;
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['convert', source.id, to, name],
      type: 'convert', workflow: convertImage, workflowId: () => `image-${target!.id}-convert`,
      write: async (trx) => {
        target = await insertImage(trx, { name, kind: to, location: '', digest: null, boot: null, source_image_id: source.id, state: 'pending' });
        return { imageId: target.id, body: (op) => ({ image: imageView(target!), operation: acceptedOperation(config, op, 'convert', { imageId: target!.id }, user.id) }) };
      },
      input: ({ operationId }) => ({ operationId, sourceImageId: source.id, targetImageId: target!.id }),
    });
    reply(res, answer);
  }));

  return router;
}
