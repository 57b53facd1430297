'use client';

import { createContext, useContext, useEffect } from 'react';

/**
 * What the fields of one form share: whether it is read-only (viewer key), the error shown beside
 * each field, and a registry of the field paths on screen so an API error can find its field.
 */
export interface FormContextValue {
  readOnly: boolean;
  errors: Readonly<Record<string, string>>;
  register(path: string): () => void;
}

const inert: FormContextValue = { readOnly: false, errors: {}, register: () => () => undefined };

export const FormContext = createContext<FormContextValue>(inert);

export function useFormContext(): FormContextValue {
  return useContext(FormContext);
}

/** Registers the paths while the component is mounted; returns the first error among them. */
export function useFieldPaths(paths: readonly string[]): string | undefined {
  const form = useFormContext();
  const joined = paths.join('\n');
  useEffect(() => {
    const undo = joined.split('\n').map((path) => form.register(path));
    return () => undo.forEach((callback) => callback());
  }, [form, joined]);
  for (const path of paths) {
    const error = form.errors[path];
    if (error !== undefined) return error;
  }
  return undefined;
}

/** A registry of mounted field paths (counted: the same path may be mounted twice). */
export class FieldRegistry {
  private readonly counts = new Map<string, number>();

  register = (path: string): (() => void) => {
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    return () => {
      const count = (this.counts.get(path) ?? 1) - 1;
      if (count <= 0) this.counts.delete(path);
      else this.counts.set(path, count);
    };
  };

  paths(): string[] {
    return [...this.counts.keys()];
  }
}
