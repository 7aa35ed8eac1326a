/** How every command reports a setup mistake; apart from the commands so that none of them loads the service to use it. */

/** Wraps a command's action: a setup mistake (configuration, keys, audit log) is one line on stderr and exit code 2, not a stack. */
export function reportSetupErrors<A extends unknown[]>(action: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      // Loaded only when something failed: the configuration module brings zod and the engine's spec.
      const { SetupError } = await import('../service/config.js');
      if (!(e instanceof SetupError)) throw e;
      process.stderr.write(`opalite: ${e.name}: ${e.message}\n`);
      process.exitCode = 2;
    }
  };
}
