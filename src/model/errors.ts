// The error the model room throws when a call cannot be right (sizes, buffers, options); the
// message names the argument, its value and what to do. Config problems use ConfigError instead.

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}
