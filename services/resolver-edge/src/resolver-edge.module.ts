import { Module } from '@nestjs/common';
import { ResolverEdgeService } from './resolver-edge.service.js';

/** resolver-edge as a Nest module; RUNTIME is provided by the host (RuntimeModule). */
@Module({ providers: [ResolverEdgeService], exports: [ResolverEdgeService] })
export class ResolverEdgeModule {}
