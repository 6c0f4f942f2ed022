// Integration tests wait on emulators and pushes: a bounded minute, not jest's 5 s default.
jest.setTimeout(60_000);
