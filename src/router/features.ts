// What WELCOME.Details.roles announces: exactly the features that work, nothing more.
export const routerRoles = {
  broker: { features: { publisher_exclusion: true } },
  dealer: { features: {} },
} as const;

export const clientRoleNames = ['caller', 'callee', 'publisher', 'subscriber'] as const;
