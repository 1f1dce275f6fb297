/**
 * The console's sections beyond the directory, in navigation order. Each page module adds its entry here; the layout
 * shows an entry only to users whose roles grant its permission (the server enforces it on every route anyway).
 */
import type { Permission } from '../auth/permissions.ts';

export interface ConsoleSection { path: string; label: string; permission: Permission }

export const SECTIONS: ConsoleSection[] = [];
