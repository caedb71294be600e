import { PassThrough } from 'node:stream';
import { Router } from 'express';
import crypto from 'node:crypto';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { parse, reply, validationError } from '../problem';
import { convertBody, imageFromSnapshotBody, patchImageBody, registerDockerImageBody, uploadQuery } from '../schemas';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation, imageView } from '../views';
import { convertImage, makeImage } from '../../workflows';
import { getImage, imageInUse, imageVisibleTo, insertImage, locationShared, markImageDeleted, type ImageRow } from '../../db/images';
import { getSnapshot } from '../../db/snapshots';
import { getInstance } from '../../db/instances';
import { reserveQuota } from '../../db/grants';
import type { User } from '../../db/users';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { DirImageStore, TooLargeError } from '../../images/image-store';
import { RegistryClient, parseReference } from '../../images/registry';
import { NotAnArchiveError, UnsafeArchiveError, inspectTemplate } from '../../host/template-archive';

export function imageRoutes(deps: Deps): Router {
  const { db, config } = deps;
  const router = Router();
  const store = new DirImageStore(config.imageStoreDir);
  const registry = new RegistryClient(config.registry);
  /** Someone else's private image is a 404 to a user, as their instances are. */
  const imageOr404 = async (id: string, user: User): Promise<ImageRow> => {
    const image = await getImage(db, id);
    if (!image || image.state === 'deleted' || !imageVisibleTo(image, user)) throw new NotFoundError(`image ${id} not found`);
    return image;
  };
  /** Its owner's or an admin's to change. */
  const ownImage = async (id: string, user: User): Promise<ImageRow> => {
    const image = await imageOr404(id, user);
    if (user.role !== 'admin' && image.owner_id !== user.id) throw new AppError(403, 'Forbidden', `image ${image.name} is not yours`);
    return image;
  };

  router.get('/v1/images/:id', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    res.json(imageView(await imageOr404(req.params.id, user), user));
  }));

  router.patch('/v1/images/:id', asyncRoute(async (req, res) => {
    const user = requireAdmin(req);
    const image = await imageOr404(req.params.id, user);
    const body = parse(patchImageBody, req.body);
    const [row] = await db('images').where({ id: image.id }).update({ visibility: body.visibility }).returning('*');
    res.json(imageView(row, user));
  }));

  // Register: a JSON body names a reference in the registry, or (any user) a snapshot of theirs; a gzip body is a tgz template upload.
  router.post('/v1/images', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    if (req.is('application/json') && req.body && typeof req.body === 'object' && 'fromSnapshot' in req.body) {
      return reply(res, await imageFromSnapshot(user, parse(imageFromSnapshotBody, req.body), req.header('idempotency-key')));
    }
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
    const image = await ownImage(req.params.id, currentUser(req));
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
    const user = currentUser(req);
    const source = await ownImage(req.params.id, user);
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
        // The twin is its owner's too, private if the source is, and counts in the same quota.
        if (source.quota_zone_id) await reserveQuota(trx, user, source.quota_zone_id, { snapshots: 1, snapshotGb: source.quota_gb ?? 0 });
        target = await insertImage(trx, {
          name, kind: to, location: '', digest: null, boot: null, source_image_id: source.id, state: 'pending',
          owner_id: source.owner_id ?? null, visibility: source.visibility, quota_zone_id: source.quota_zone_id ?? null, quota_gb: source.quota_gb ?? null,
        });
        return { imageId: target.id, body: (op) => ({ image: imageView(target!), operation: acceptedOperation(config, op, 'convert', { imageId: target!.id }, user.id) }) };
      },
      input: ({ operationId }) => ({ operationId, sourceImageId: source.id, targetImageId: target!.id }),
    });
    reply(res, answer);
  }));

  /**
   * An image from a snapshot of the user's (an admin's: anyone's) container or VM: private, theirs,
   * counted in their snapshot quota where the snapshot is. Its operation holds the instance, so the
   * snapshot cannot be deleted under it.
   */
  async function imageFromSnapshot(user: User, body: { name: string; fromSnapshot: string }, idempotencyKey: string | undefined) {
    const snapshot = await getSnapshot(db, body.fromSnapshot);
    const instance = snapshot ? await getInstance(db, snapshot.instance_id) : undefined;
    if (!snapshot || !instance || snapshot.state === 'deleted' || (user.role !== 'admin' && instance.owner_id !== user.id)) {
      throw new AppError(404, 'Not Found', `snapshot ${body.fromSnapshot} not found`, { errors: [{ path: 'fromSnapshot', message: 'no such snapshot of yours' }] });
    }
    if (snapshot.state !== 'ready') throw new ConflictError(`snapshot ${snapshot.id} is ${snapshot.state}`);
    let target: ImageRow | undefined;
    return startOperation(deps, {
      userId: user.id, idempotencyKey, requestFingerprint: ['make-image', body], type: 'make-image', workflow: makeImage,
      instanceId: instance.id, zone: instance.zone_id, workflowId: () => `image-${target!.id}-make`,
      write: async (trx) => {
        await reserveQuota(trx, user, instance.zone_id, { snapshots: 1, snapshotGb: instance.disk_gb });
        target = await insertImage(trx, {
          // A VM's snapshot becomes a template (tgz); `convert` makes either kind's twin.
          name: body.name, kind: snapshot.kind === 'kvm' ? 'tgz' : 'docker', location: '', digest: null, boot: null, state: 'pending', owner_id: instance.owner_id,
          visibility: 'private', source_snapshot_id: snapshot.id, quota_zone_id: instance.zone_id, quota_gb: instance.disk_gb,
        });
        return { imageId: target.id, body: (op) => ({ image: imageView(target!, user), operation: acceptedOperation(config, op, 'make-image', { imageId: target!.id, instanceId: instance.id }, user.id) }) };
      },
      input: ({ operationId }) => ({ operationId, snapshotId: snapshot.id, imageId: target!.id }),
    });
  }

  return router;
}
