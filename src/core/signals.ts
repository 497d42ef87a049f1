// Graceful stop of the long-running jobs (capture, apply): SIGTERM or SIGINT asks the job to stop
// after the unit of work in progress; a second signal is the default action (the process ends).

export interface StoppableJob {
  run(): Promise<void>;
  stop(): void;
}

/** Runs `job` until it returns by itself or a signal asks it to stop; `onSignal` logs the request. */
export async function runUntilSignalled(job: StoppableJob, onSignal: () => void): Promise<void> {
  const stop = () => {
    onSignal();
    job.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await job.run();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
