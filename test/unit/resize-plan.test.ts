import { largerSize, maximaFor, planResize, resizeRefusal, targetSize } from '../../lib/resize-plan';
import { whyNotOnHost } from '../../db/resize';

const from = { vcpus: 2, memoryMb: 512, diskGb: 4 };

describe('resize plan', () => {
  test('containers change live; a running VM live within its maxima, else cold; stopped instances offline', () => {
    const none = { maxVcpus: null, maxMemoryMb: null };
    const maxima = maximaFor('kvm', from, 2);
    expect(maxima).toEqual({ maxVcpus: 4, maxMemoryMb: 1024 });
    expect(maximaFor('docker', from, 2)).toEqual(none);
    expect(maximaFor('kvm', from, 1)).toEqual(none);
    const to = (s: Partial<typeof from>) => targetSize(from, s);
    expect(planResize('docker', 'running', from, to({ vcpus: 8 }), none)).toBe('live');
    expect(planResize('kvm', 'running', from, to({ vcpus: 4, memoryMb: 1024 }), maxima)).toBe('live');
    expect(planResize('kvm', 'running', from, to({ memoryMb: 256 }), maxima)).toBe('live');
    expect(planResize('kvm', 'running', from, to({ vcpus: 5 }), maxima)).toBe('cold');
    expect(planResize('kvm', 'running', from, to({ memoryMb: 1025 }), maxima)).toBe('cold');
    expect(planResize('kvm', 'running', from, to({ vcpus: 1 }), maxima)).toBe('cold');
    expect(planResize('kvm', 'running', from, to({ diskGb: 5 }), maxima)).toBe('cold');
    expect(planResize('kvm', 'running', from, to({ memoryMb: 600 }), none)).toBe('cold');
    expect(planResize('docker', 'stopped', from, to({ vcpus: 3 }), none)).toBe('offline');
    expect(planResize('kvm', 'stopped', from, to({ vcpus: 3 }), maxima)).toBe('offline');
  });

  test('what is left out keeps its size; a disk never shrinks; no change is refused', () => {
    expect(targetSize(from, { memoryMb: 1024 })).toEqual({ vcpus: 2, memoryMb: 1024, diskGb: 4 });
    expect(resizeRefusal(from, targetSize(from, { diskGb: 3 }))).toMatchObject({ path: 'diskGb' });
    expect(resizeRefusal(from, targetSize(from, { vcpus: 2 }))).toMatchObject({ path: 'vcpus' });
    expect(resizeRefusal(from, targetSize(from, { vcpus: 1, memoryMb: 256 }))).toBeNull();
    expect(largerSize(from, { vcpus: 1, memoryMb: 1024, diskGb: 4 })).toEqual({ vcpus: 2, memoryMb: 1024, diskGb: 4 });
  });

  test('the host is asked only for the growth, within its ratios and its CPU count', () => {
    const host = { vcpus: 4, memory_mb: 4096, disk_gb: 20, used_vcpus: 6, used_memory_mb: 3584, used_disk_gb: 19 } as Parameters<typeof whyNotOnHost>[0];
    const ratios = { cpu: 2, memory: 1 };
    expect(whyNotOnHost(host, from, { vcpus: 4, memoryMb: 512, diskGb: 4 }, ratios)).toBeNull();
    expect(whyNotOnHost(host, from, { vcpus: 5, memoryMb: 512, diskGb: 4 }, ratios)).toMatchObject({ path: 'vcpus' });
    expect(whyNotOnHost({ ...host, used_vcpus: 7 }, from, { vcpus: 4, memoryMb: 512, diskGb: 4 }, ratios)).toMatchObject({ path: 'vcpus' });
    expect(whyNotOnHost(host, from, { vcpus: 2, memoryMb: 1024, diskGb: 4 }, ratios)).toBeNull();
    expect(whyNotOnHost(host, from, { vcpus: 2, memoryMb: 1025, diskGb: 4 }, ratios)).toMatchObject({ path: 'memoryMb' });
    expect(whyNotOnHost(host, from, { vcpus: 2, memoryMb: 512, diskGb: 6 }, ratios)).toMatchObject({ path: 'diskGb' });
    // Shrinking asks nothing of the host.
    expect(whyNotOnHost({ ...host, used_memory_mb: 9999 }, from, { vcpus: 1, memoryMb: 256, diskGb: 4 }, ratios)).toBeNull();
  });
});
