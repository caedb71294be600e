import { restorePlatform } from './platform-guard';

// Registered for every test file (jest setupFilesAfterEnv): one file's failure does not become the next one's.
afterAll(() => restorePlatform(), 300_000);
