import * as z from 'zod';
import type { Reply, Request, Router } from './http';
import type { Account, World } from './world';

/** What the admin API's route groups share: validation, account lookup and error replies. */

export class AdminError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new AdminError(400, z.prettifyError(parsed.error));
  return parsed.data;
}

export function accountOf(world: World, request: Request): Account {
  const account = world.account(request.params.email ?? '');
  if (!account) throw new AdminError(404, `no sandbox account ${request.params.email ?? ''}`);
  return account;
}

export function guarded(run: (request: Request) => Reply | Promise<Reply>) {
  return async (request: Request): Promise<Reply> => {
    try {
      return await run(request);
    } catch (error) {
      if (error instanceof AdminError) return { status: error.status, body: { error: error.message } };
      if (error instanceof Error && error.message.startsWith('no ')) return { status: 404, body: { error: error.message } };
      throw error;
    }
  };
}

/** Registers an admin route under /_admin. */
export type AdminOn = (method: string, path: string, run: (request: Request) => Reply | Promise<Reply>) => void;

export function adminRoutes(router: Router): AdminOn {
  return (method, path, run) => {
    router.on(method, `/_admin${path}`, guarded(run));
  };
}
