//! Finding the deployment group that deploys a service.
