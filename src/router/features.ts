// What WELCOME.Details.roles announces: exactly the features that work, nothing more.
// Each is exercised by a test in test/core or test/interop.
export const routerRoles = {
  broker: {
    features: {
      publisher_exclusion: true,
      publisher_identification: true,
      subscriber_blackwhite_listing: true,
      pattern_based_subscription: true,
      event_retention: true,
      event_history: true,
      subscription_meta_api: true,
      session_meta_api: true,
      testament_meta_api: true,
      payload_passthru_mode: true,
    },
  },
  dealer: {
    features: {
      progressive_call_results: true,
      progressive_call_invocations: true,
      call_canceling: true,
      call_timeout: true,
      caller_identification: true,
      pattern_based_registration: true,
      shared_registration: true,
      registration_meta_api: true,
      session_meta_api: true,
      testament_meta_api: true,
      payload_passthru_mode: true,
    },
  },
} as const;

export const clientRoleNames = ['caller', 'callee', 'publisher', 'subscriber'] as const;
