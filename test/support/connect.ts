import { connectThroughFlow, type ConnectWalk } from '../../scripts/lib/connect-client';
import type { EngineStack } from './engine-stack';

/** The connect flow against a test stack's `connect` function (see connectThroughFlow). */
export function walkConnect(stack: EngineStack, userId: string, email: string): Promise<ConnectWalk> {
  return connectThroughFlow(stack.functionUrl('connect'), userId, email);
}
