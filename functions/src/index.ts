/**
 * The Cloud Functions entry module. Configuration is validated here, at start-up, so a bad
 * deployment fails at once with every bad variable named; clients are built on first use.
 */
import { parseConfig } from './config';
import { buildServices, lazy } from './entry/services';
import { registerFunctions } from './register';

const config = parseConfig();
registerFunctions(lazy(() => buildServices(config)));
